//! The home page, as a mediator's day starts: today's appointments (who comes, who confirmed),
//! the people to call, the session logs still to fill, the new referrals. Each list is one
//! bounded read through the capability that owns it.

use chrono::{Duration, NaiveTime, TimeZone};
use rocket::State;
use rocket_dyn_templates::Template;
use serde_json::json;

use crate::auth::{Role, WebUser};
use crate::booking::service::{self, AppointmentFilter};
use crate::config::Config;
use crate::db::Db;
use crate::error::AppError;
use crate::status::ParticipantStatus;
use crate::time::LocalTime;
use crate::web::page;

/// How many items of each list the page shows (each links to its full page).
const SHOWN: usize = 5;

#[rocket::get("/")]
pub async fn home(
    db: &State<Db>,
    config: &State<Config>,
    web: WebUser,
) -> Result<Template, AppError> {
    let tz = config.timezone;
    let user = web.user.clone();
    let today = tz.from_utc_datetime(&crate::db::now()).date_naive();
    let (appointments, names, to_call, to_fill, referrals) = db
        .run(move |conn| {
            let start = tz.to_utc(today, NaiveTime::MIN);
            let end = tz.to_utc(today + Duration::days(1), NaiveTime::MIN);
            let mine = |from, to| AppointmentFilter {
                from: Some(from),
                to: Some(to),
                mediator_id: Some(user.id),
                limit: 200,
                ..Default::default()
            };
            let appointments = service::list(conn, &user, &mine(start, end))?;
            let ids: Vec<i32> = appointments
                .iter()
                .flat_map(|a| a.participants.iter().map(|p| p.person_id))
                .collect();
            let names = crate::people::picker::names(conn, &ids)?;
            let current = crate::db::now();
            let soon = service::list(conn, &user, &mine(current, current + Duration::days(14)))?;
            let to_call = crate::mail::calling::among(conn, &soon)?;
            let mediator = (user.role == Role::Mediator).then_some(user.id);
            // An admin's day is their own structure's, as their agenda is.
            let own = Some(user.organisation_id);
            let to_fill = crate::skills::logs::to_fill(conn, &user, mediator, own)?;
            let referrals = crate::referrals::list(
                conn,
                &user,
                Some(crate::status::ReferralStatus::New),
                SHOWN as i64 + 1,
                0,
                &tz,
                own,
            )?;
            Ok((appointments, names, to_call, to_fill, referrals))
        })
        .await?;
    let today_rows: Vec<_> = appointments
        .iter()
        .map(|a| {
            let people: Vec<_> = a
                .participants
                .iter()
                .filter(|p| {
                    matches!(
                        p.status,
                        ParticipantStatus::Booked
                            | ParticipantStatus::Attended
                            | ParticipantStatus::NoShow
                    )
                })
                .map(|p| json!({
                    "id": p.person_id, "name": names.get(&p.person_id).cloned().unwrap_or_default(),
                    "confirmed": p.confirmed_at.is_some(), "status": crate::booking::model::participant_label(p.status),
                }))
                .collect();
            json!({
                "id": a.row.id, "start": tz.from_utc_datetime(&a.row.starts_at).format("%H:%M").to_string(),
                "end": tz.from_utc_datetime(&a.row.ends_at).format("%H:%M").to_string(),
                "title": a.row.title, "status": a.row.status,
                "status_label": a.row.status.label(), "people": people,
                "capacity": a.row.capacity,
            })
        })
        .collect();
    let fill_rows: Vec<_> = to_fill
        .iter()
        .take(SHOWN)
        .map(|r| json!({ "id": r.id, "when": tz.in_words(r.starts_at), "title": r.title }))
        .collect();
    Ok(page(
        "home",
        &web,
        json!({
            "today": crate::time::date_in_words(today),
            "appointments": today_rows,
            "to_call": to_call.iter().take(SHOWN).collect::<Vec<_>>(), "to_call_more": to_call.len().saturating_sub(SHOWN),
            "to_fill": fill_rows, "to_fill_count": to_fill.len(),
            "referrals": referrals.iter().take(SHOWN).map(|r| json!({ "id": r.id, "person_id": r.person_id, "name": r.person_name, "referrer": r.referrer.organisation })).collect::<Vec<_>>(),
            "referrals_more": referrals.len() > SHOWN,
        }),
    ))
}
