//! API clients: scopes, expiry, the token shown once and stored hashed, revocation, last use.

use diesel::prelude::*;
use rocket::http::Status;
use serde_json::json;

use crate::both_backends;
use crate::fixtures::{person, today};

both_backends! {
    async fn a_client_calls_within_its_scopes_and_organisation_until_revoked(app) {
        let manager = app.staff("manager", "Mission locale").await;
        let mediator = app.staff("mediator", "Mission locale").await;
        let other = app.staff("manager", "CCAS Tourcoing").await;
        let ours = person(&app, &manager.token, "Yvette").await;
        let theirs = person(&app, &other.token, "Zoé").await;

        let created = app.post_json("/api/v1/api-clients", &manager.token, json!({"name": "Logiciel RSA", "scopes": ["people:read", "reports:read"]})).await;
        assert_eq!(created.status, Status::Created, "{}", created.body);
        let body = created.json();
        let (id, token) = (body["id"].as_i64().unwrap(), body["token"].as_str().unwrap().to_string());
        assert_eq!(body["scopes"], json!(["people:read", "reports:read"]));
        assert!(token.len() >= 40);

        // Stored hashed: the database never holds the token itself.
        let stored: String = {
            use passerelle::db::schema::api_clients;
            let mut conn = app.db().get().unwrap();
            api_clients::table.find(id as i32).select(api_clients::token_hash).first(&mut *conn).unwrap()
        };
        assert_ne!(stored, token);
        assert_eq!(stored, passerelle::auth::hash_token(&token));

        // Listed without the token, not used yet.
        let listed = app.get("/api/v1/api-clients", Some(&manager.token)).await;
        assert_eq!(listed.status, Status::Ok);
        let row = listed.json().as_array().unwrap().iter().find(|c| c["id"] == id).cloned().unwrap();
        assert!(row.get("token").is_none() && !listed.body.contains(&token));
        assert!(row["last_used_at"].is_null());
        // Times carry the configured offset, as everywhere in the API.
        for time in [&body["created_at"], &row["created_at"]] {
            assert!(chrono::DateTime::parse_from_rfc3339(time.as_str().unwrap()).is_ok(), "{time}");
        }
        // Another organisation's manager sees none of ours.
        let elsewhere = app.get("/api/v1/api-clients", Some(&other.token)).await;
        assert!(elsewhere.json().as_array().unwrap().iter().all(|c| c["id"] != id));

        // Within its scopes and its creator's organisation.
        assert_eq!(app.get(&format!("/api/v1/people/{ours}"), Some(&token)).await.status, Status::Ok);
        assert_eq!(app.get(&format!("/api/v1/people/{theirs}"), Some(&token)).await.status, Status::NotFound);
        assert_eq!(app.get("/api/v1/reports/activity", Some(&token)).await.status, Status::Ok);
        // Outside them: 403 problem+json naming the missing scope.
        let write = app.post_json("/api/v1/people", &token, json!({"given_name": "Anna"})).await;
        assert_eq!(write.status, Status::Forbidden, "{}", write.body);
        assert!(write.header("content-type").unwrap().starts_with("application/problem+json"));
        assert!(write.json()["detail"].as_str().unwrap().contains("people:write"), "{}", write.body);
        for path in ["/api/v1/appointments", "/api/v1/equipment", "/api/v1/users", "/api/v1/api-clients", "/api/v1/audit"] {
            assert_eq!(app.get(path, Some(&token)).await.status, Status::Forbidden, "{path}");
        }
        // No way to mint itself more rights.
        let escalate = app.post_json("/api/v1/api-clients", &token, json!({"name": "x", "scopes": ["people:write"]})).await;
        assert_eq!(escalate.status, Status::Forbidden);

        let used = app.get("/api/v1/api-clients", Some(&manager.token)).await.json();
        let row = used.as_array().unwrap().iter().find(|c| c["id"] == id).cloned().unwrap();
        assert!(row["last_used_at"].is_string(), "{row}");

        // Mediators create none; another organisation cannot revoke ours.
        assert_eq!(app.post_json("/api/v1/api-clients", &mediator.token, json!({"name": "x", "scopes": ["people:read"]})).await.status, Status::Forbidden);
        assert_eq!(app.delete(&format!("/api/v1/api-clients/{id}"), &other.token).await.status, Status::NotFound);
        assert_eq!(app.get(&format!("/api/v1/people/{ours}"), Some(&token)).await.status, Status::Ok);
        // Revoked: 401 at once.
        assert_eq!(app.delete(&format!("/api/v1/api-clients/{id}"), &manager.token).await.status, Status::NoContent);
        assert_eq!(app.get(&format!("/api/v1/people/{ours}"), Some(&token)).await.status, Status::Unauthorized);
        let audit = app.get(&format!("/api/v1/audit?entity=api_client&entity_id={id}"), Some(&app.staff("admin", "Département").await.token)).await;
        assert_eq!(audit.json().as_array().unwrap().len(), 2, "{}", audit.body);
    }
}

both_backends! {
    async fn an_admins_client_stays_in_the_admins_organisation_and_expired_clients_are_refused(app) {
        let admin = app.staff("admin", "Département du Nord").await;
        let manager = app.staff("manager", "Mission locale").await;
        let theirs = person(&app, &manager.token, "Yasmine").await;
        let created = app.post_json("/api/v1/api-clients", &admin.token, json!({"name": "Entrepôt de données", "scopes": ["people:read", "people:write"], "expires_on": today().to_string()})).await;
        assert_eq!(created.status, Status::Created, "{}", created.body);
        let token = created.json()["token"].as_str().unwrap().to_string();
        // An admin sees every organisation; the admin's client does not.
        assert_eq!(app.get(&format!("/api/v1/people/{theirs}"), Some(&admin.token)).await.status, Status::Ok);
        assert_eq!(app.get(&format!("/api/v1/people/{theirs}"), Some(&token)).await.status, Status::NotFound);
        assert_eq!(app.post_json("/api/v1/people", &token, json!({"given_name": "Anna"})).await.status, Status::Created);

        // It works through its last day, not after.
        {
            use passerelle::db::schema::api_clients;
            let mut conn = app.db().get().unwrap();
            diesel::update(api_clients::table)
                .set(api_clients::expires_on.eq(today() - chrono::Duration::days(1)))
                .execute(&mut *conn)
                .unwrap();
        }
        assert_eq!(app.get("/api/v1/people", Some(&token)).await.status, Status::Unauthorized);

        // Bad input: 422 naming the field.
        for (body, field) in [
            (json!({"name": "x", "scopes": ["people:delete"]}), "scopes"),
            (json!({"name": "x", "scopes": []}), "scopes"),
            (json!({"name": " ", "scopes": ["people:read"]}), "name"),
            (json!({"name": "x", "scopes": ["people:read"], "expires_on": "2020-01-01"}), "expires_on"),
        ] {
            let r = app.post_json("/api/v1/api-clients", &manager.token, body.clone()).await;
            assert_eq!(r.status, Status::UnprocessableEntity, "{body}: {}", r.body);
            assert!(r.json()["errors"][field].is_array(), "{body}: {}", r.body);
        }
    }
}
