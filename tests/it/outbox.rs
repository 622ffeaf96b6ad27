//! The harness's outbox check: an app told to check its messages fails its test when the test
//! leaves an outbox message it never looked at, and reading the outbox counts as looking.

use std::panic::{catch_unwind, AssertUnwindSafe};

use chrono::Duration;
use rocket::http::Status;

use crate::both_backends;
use crate::fixtures::{at, book, messages, reachable_person, setup, today};

both_backends! {
    async fn an_outbox_message_nobody_looked_at_fails_the_test(app) {
        app.check_messages_read();
        let s = setup(&app, "Emmaüs Connect").await;
        assert!(app.unread_messages().is_empty(), "nothing written yet");
        let p = reachable_person(&app, &s.mediator.token, "Hélène", "helene@example.org").await;
        let booked = book(&app, &s, &s.mediator.token, &at(today() + Duration::days(5), "10:00"), &[p]).await;
        assert_eq!(booked.status, Status::Created, "{}", booked.body);
        let unread = app.unread_messages();
        assert!(unread.iter().any(|m| m.kind == "confirmation" && m.channel == "email"), "{unread:?}");

        // Another instance on the same database looked at nothing: dropping it fails, listing
        // each message by id, kind and channel, and nothing personal.
        let other = app.another_instance().await;
        other.check_messages_read();
        let failure = catch_unwind(AssertUnwindSafe(|| drop(other))).expect_err("the check fires");
        let report = failure.downcast_ref::<String>().expect("a formatted panic message");
        for m in &unread {
            assert!(report.contains(&format!("#{} {} ({})", m.id, m.kind, m.channel)), "{report}");
        }
        assert!(!report.contains("helene") && !report.contains("Hélène"), "{report}");

        // Listing the outbox is looking at it: nothing is left, and this app drops quietly.
        let listed = messages(&app, &s.manager.token, "").await;
        assert_eq!(listed.len(), unread.len(), "{listed:?}");
        assert!(listed.iter().any(|m| m["kind"] == "confirmation" && m["recipient"] == "helene@example.org"));
        assert!(app.unread_messages().is_empty(), "{:?}", app.unread_messages());
    }
}
