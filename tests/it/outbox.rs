//! The outbox check: a test of what is sent must account for everything sent. An app told to
//! [`TestApp::check_messages_read`] (every `TestApp::with_smtp` app is) remembers the outbox
//! messages its test looked at, through [`crate::fixtures::messages`] or
//! [`TestApp::saw_email`]; when it is dropped at the end of a test that did not panic, any row
//! of the `messages` table the test never looked at fails it, listed by id, kind and channel
//! (nothing personal). The test at the end proves the check fires and clears.

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use chrono::Duration;
use rocket::http::Status;

use crate::both_backends;
use crate::fixtures::{at, book, messages, reachable_person, setup, today};
use crate::harness::TestApp;

/// A test app's part of the check: whether it is on, and the ids looked at.
#[derive(Default)]
pub struct OutboxCheck {
    enabled: AtomicBool,
    seen: Mutex<BTreeSet<i32>>,
}

/// An outbox message as the unread check reports it: no recipient, subject or body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutboxEntry {
    pub id: i32,
    pub kind: String,
    pub channel: String,
}

impl TestApp {
    /// From now on, the test fails when it ends (without panicking) leaving an outbox message
    /// it never looked at; see [`TestApp::unread_messages`].
    pub fn check_messages_read(&self) {
        self.outbox.enabled.store(true, Ordering::SeqCst);
    }

    /// Records that the test looked at these outbox messages.
    pub fn saw_messages(&self, ids: impl IntoIterator<Item = i32>) {
        self.outbox
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(ids);
    }

    /// Records that the test looked at the outbox message this email was sent from, known by
    /// its `Message-ID` (`<passerelle.{row}.{installation}@{domain}>`, see
    /// `passerelle::mail::compose::message_id`); panics on an email this app did not send.
    pub fn saw_email(&self, message_id: &str) {
        let bare = message_id.trim_start_matches('<').trim_end_matches('>');
        let (local, domain) = bare.split_once('@').expect("a Message-ID with a domain");
        let row: i32 = local
            .split('.')
            .nth(1)
            .and_then(|row| row.parse().ok())
            .unwrap_or_else(|| panic!("not a Passerelle Message-ID: {message_id}"));
        let expected =
            passerelle::mail::compose::message_id(&self.config().secret_key, row, domain);
        assert_eq!(
            expected.trim_start_matches('<').trim_end_matches('>'),
            bare,
            "an email this app did not send"
        );
        self.saw_messages([row]);
    }

    /// The outbox messages the test has not looked at, oldest first.
    pub fn unread_messages(&self) -> Vec<OutboxEntry> {
        use diesel::prelude::*;
        use passerelle::db::schema::messages;
        let seen = self
            .outbox
            .seen
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        let mut conn = self.db().get().expect("a connection for the outbox check");
        let rows: Vec<(i32, String, String)> = messages::table
            .select((messages::id, messages::kind, messages::channel))
            .order(messages::id)
            .load(&mut *conn)
            .expect("read the outbox");
        rows.into_iter()
            .filter(|(id, _, _)| !seen.contains(id))
            .map(|(id, kind, channel)| OutboxEntry { id, kind, channel })
            .collect()
    }
}

impl Drop for TestApp {
    /// The outbox check of [`TestApp::check_messages_read`]; skipped when the test already
    /// failed, so that its own panic is the one reported.
    fn drop(&mut self) {
        if !self.outbox.enabled.load(Ordering::SeqCst) || std::thread::panicking() {
            return;
        }
        let unread = self.unread_messages();
        if !unread.is_empty() {
            let list = unread
                .iter()
                .map(|m| format!("  #{} {} ({})", m.id, m.kind, m.channel))
                .collect::<Vec<_>>()
                .join("\n");
            panic!(
                "the test left {} outbox message(s) it never looked at:\n{list}",
                unread.len()
            );
        }
    }
}

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
