//! Referral requests (*demandes d'orientation*): a referrer (social worker, mission locale
//! adviser…) sends a person from the public page without picking a slot; the structure contacts
//! the person and books from the request in one step. A referrer who picked a slot leaves a
//! request already `booked`, so the inbox shows every referral.

pub mod api;
pub mod web;

use chrono::NaiveDateTime;
use chrono_tz::Tz;
use diesel::prelude::*;
use serde::{Deserialize, Serialize};
use validator::Validate;

use crate::auth::StaffUser;
use crate::booking::service::BookingInput;
use crate::config::Config;
use crate::db::schema::{messages, people, referrals};
use crate::db::{now, DbConn};
use crate::error::{AppError, FieldErrors};
use crate::status::ReferralStatus;
use crate::time::LocalTime;

#[derive(Queryable, Selectable, Debug, Clone)]
#[diesel(table_name = referrals)]
pub struct Referral {
    pub id: i32,
    pub organisation_id: i32,
    pub person_id: i32,
    pub referrer_name: String,
    pub referrer_organisation: String,
    pub referrer_email: String,
    pub referrer_phone: Option<String>,
    pub topics: String,
    pub message: Option<String>,
    pub status: ReferralStatus,
    pub appointment_id: Option<i32>,
    pub created_at: NaiveDateTime,
    pub updated_at: NaiveDateTime,
}

/// The referrer, as they describe themselves on the public page or to the portal API.
#[derive(Deserialize, Serialize, Validate, Debug, Default, Clone, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Referrer {
    #[validate(length(
        min = 1,
        max = 120,
        message = "Votre nom est obligatoire (120 caractères au plus)."
    ))]
    #[schema(min_length = 1, max_length = 120)]
    pub name: String,
    #[validate(length(
        min = 1,
        max = 120,
        message = "Votre structure est obligatoire (120 caractères au plus)."
    ))]
    #[schema(min_length = 1, max_length = 120)]
    pub organisation: String,
    #[validate(email(message = "Adresse e-mail invalide."))]
    #[validate(length(max = 254, message = "254 caractères au plus."))]
    #[schema(format = Email, max_length = 254)]
    pub email: String,
    #[validate(length(max = 30, message = "30 caractères au plus."))]
    #[schema(max_length = 30)]
    pub phone: Option<String>,
}

impl Referrer {
    /// Trimmed and checked; the errors are named `referrer.field`.
    pub fn checked(mut self) -> Result<Referrer, FieldErrors> {
        self.name = self.name.trim().to_string();
        self.organisation = self.organisation.trim().to_string();
        self.email = self.email.trim().to_lowercase();
        self.phone = crate::text::clean(self.phone);
        let mut errors = FieldErrors::new();
        if let Err(e) = self.validate() {
            if let AppError::Validation(list) = AppError::from(e) {
                for (field, messages) in list {
                    errors.insert(format!("referrer.{field}"), messages);
                }
            }
        }
        if errors.is_empty() {
            Ok(self)
        } else {
            Err(errors)
        }
    }
}

/// Checks the needs of a request: known thématiques, at least one, at most ten.
pub fn check_topics(topics: &[String]) -> Result<Vec<String>, String> {
    let mut list: Vec<String> = topics.iter().map(|t| t.trim().to_string()).collect();
    list.sort();
    list.dedup();
    if list.is_empty() || list.len() > 10 {
        return Err("Choisissez de 1 à 10 besoins.".into());
    }
    if let Some(unknown) = list.iter().find(|t| !crate::skills::topics::is_known(t)) {
        return Err(format!("Besoin inconnu : {unknown}."));
    }
    Ok(list)
}

/// What the request says, written by the public service inside its transaction.
pub struct NewReferral<'a> {
    pub organisation_id: i32,
    pub organisation_name: &'a str,
    pub person_id: i32,
    pub referrer: &'a Referrer,
    pub topics: &'a [String],
    pub message: Option<&'a str>,
    /// The appointment the referrer booked, if they did.
    pub booked: Option<(i32, NaiveDateTime)>,
}

/// Records a request (audited with no actor) and writes the referrer's receipt email. Call it
/// inside the transaction of the booking it may come with.
pub fn record(conn: &mut DbConn, new: NewReferral, tz: &Tz) -> Result<i32, AppError> {
    let stamp = now();
    let status = if new.booked.is_some() {
        ReferralStatus::Booked
    } else {
        ReferralStatus::New
    };
    let id: i32 = diesel::insert_into(referrals::table)
        .values((
            referrals::organisation_id.eq(new.organisation_id),
            referrals::person_id.eq(new.person_id),
            referrals::referrer_name.eq(&new.referrer.name),
            referrals::referrer_organisation.eq(&new.referrer.organisation),
            referrals::referrer_email.eq(&new.referrer.email),
            referrals::referrer_phone.eq(new.referrer.phone.as_deref()),
            referrals::topics.eq(new.topics.join(",")),
            referrals::message.eq(new.message),
            referrals::status.eq(status),
            referrals::appointment_id.eq(new.booked.map(|(id, _)| id)),
            referrals::created_at.eq(stamp),
            referrals::updated_at.eq(stamp),
        ))
        .returning(referrals::id)
        .get_result(conn)?;
    crate::audit::record(
        conn,
        None,
        "create",
        "referral",
        Some(id),
        Some(new.organisation_id),
    )?;
    let given_name: String = people::table
        .find(new.person_id)
        .select(people::given_name)
        .first(conn)?;
    let subject = format!("Orientation reçue par {}", new.organisation_name);
    let what = match new.booked {
        Some((_, starts_at)) => format!(
            "Le rendez-vous de {given_name} est réservé le {}. Si la personne n'a ni e-mail ni \
             téléphone portable, c'est à vous que nous enverrons les rappels.",
            tz.in_words(starts_at)
        ),
        None => format!(
            "Nous contacterons {given_name} pour fixer un rendez-vous. Si nous n'y arrivons pas, \
             nous vous recontacterons."
        ),
    };
    let text = format!(
        "Bonjour {},\n\n{} a bien reçu votre orientation.\n{what}\n\nBesoins indiqués : {}.\n\n\
         Ceci est un message automatique : merci de ne pas y répondre.\n",
        new.referrer.name,
        new.organisation_name,
        new.topics
            .iter()
            .map(|t| crate::skills::topics::label(t).unwrap_or(t))
            .collect::<Vec<_>>()
            .join(", ")
    );
    announce_receipt(
        conn,
        new.organisation_id,
        new.person_id,
        &new.referrer.email,
        &subject,
        &text,
    )?;
    Ok(id)
}

/// Writes an email whose subject and text are already written (a referrer's receipt), to an
/// address that is not the person's. Call it inside the transaction of what it acknowledges.
pub fn announce_receipt(
    conn: &mut DbConn,
    organisation_id: i32,
    person_id: i32,
    email: &str,
    subject: &str,
    text: &str,
) -> Result<(), AppError> {
    crate::outbox::enqueue(
        conn,
        (
            messages::organisation_id.eq(organisation_id),
            messages::person_id.eq(person_id),
            messages::kind.eq("receipt"),
            messages::recipient.eq(email),
            messages::recipient_kind.eq("referrer"),
            messages::channel.eq("email"),
            messages::sequence.eq(0),
            messages::due_at.eq(now()),
            crate::outbox::waiting(),
            messages::subject.eq(subject),
            messages::body.eq(text),
            messages::created_at.eq(now()),
        ),
    )
}

/// A request as staff see it.
#[derive(Serialize, Debug, Clone, utoipa::ToSchema)]
#[schema(as = Referral)]
pub struct ReferralOut {
    pub id: i32,
    pub person_id: i32,
    pub person_name: String,
    pub referrer: Referrer,
    pub topics: Vec<String>,
    #[schema(required = true)]
    pub message: Option<String>,
    #[schema(schema_with = ReferralStatus::schema)]
    pub status: ReferralStatus,
    #[schema(required = true)]
    pub appointment_id: Option<i32>,
    #[schema(format = DateTime)]
    pub created_at: String,
}

fn out(row: Referral, person_name: String, tz: &Tz) -> ReferralOut {
    ReferralOut {
        id: row.id,
        person_id: row.person_id,
        person_name,
        referrer: Referrer {
            name: row.referrer_name,
            organisation: row.referrer_organisation,
            email: row.referrer_email,
            phone: row.referrer_phone,
        },
        topics: row
            .topics
            .split(',')
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect(),
        message: row.message,
        status: row.status,
        appointment_id: row.appointment_id,
        created_at: tz.rfc3339(row.created_at),
    }
}

/// The requests of the organisations `user` sees, newest first.
pub fn list(
    conn: &mut DbConn,
    user: &StaffUser,
    status: Option<ReferralStatus>,
    limit: i64,
    offset: i64,
    tz: &Tz,
    organisation_id: Option<i32>,
) -> Result<Vec<ReferralOut>, AppError> {
    let mut query = referrals::table
        .inner_join(people::table)
        .select((
            Referral::as_select(),
            people::given_name,
            people::family_name,
        ))
        .into_boxed();
    if let Some(org) = user.scope().or(organisation_id) {
        query = query.filter(referrals::organisation_id.eq(org));
    }
    if let Some(status) = status {
        query = query.filter(referrals::status.eq(status));
    }
    let rows: Vec<(Referral, String, Option<String>)> = query
        .order((referrals::created_at.desc(), referrals::id.desc()))
        .limit(limit)
        .offset(offset)
        .load(conn)?;
    Ok(rows
        .into_iter()
        .map(|(row, given, family)| {
            let name = match family {
                Some(f) => format!("{given} {f}"),
                None => given,
            };
            out(row, name, tz)
        })
        .collect())
}

/// The request, if `user` may see it.
fn get(conn: &mut DbConn, user: &StaffUser, id: i32) -> Result<Referral, AppError> {
    referrals::table
        .find(id)
        .select(Referral::as_select())
        .first(conn)
        .optional()?
        .filter(|r| user.can_see(r.organisation_id))
        .ok_or(AppError::NotFound)
}

/// `PATCH /api/v1/referrals/{id}`.
#[derive(Deserialize, Debug, Default, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReferralPatch {
    #[schema(schema_with = ReferralStatus::schema)]
    pub status: Option<String>,
}

/// Changes the status of a request (any staff of its organisation); audited.
pub fn set_status(
    conn: &mut DbConn,
    user: &StaffUser,
    id: i32,
    patch: ReferralPatch,
    tz: &Tz,
) -> Result<ReferralOut, AppError> {
    let status = patch.status.unwrap_or_default();
    crate::db::transaction(conn, |conn| {
        let row = get(conn, user, id)?;
        let Some(status) = ReferralStatus::parse(&status) else {
            return Err(AppError::field(
                "status",
                "Valeur attendue : new, contacted, booked ou closed.",
            ));
        };
        diesel::update(referrals::table.find(id))
            .set((
                referrals::status.eq(status),
                referrals::updated_at.eq(now()),
            ))
            .execute(conn)?;
        crate::audit::record(
            conn,
            Some(user),
            "status",
            "referral",
            Some(id),
            Some(row.organisation_id),
        )?;
        one(conn, user, id, tz)
    })
}

/// A person merged into another: their requests follow them (inside the merge's transaction).
pub fn move_person(conn: &mut DbConn, from: i32, to: i32) -> Result<(), AppError> {
    diesel::update(referrals::table.filter(referrals::person_id.eq(from)))
        .set((referrals::person_id.eq(to), referrals::updated_at.eq(now())))
        .execute(conn)?;
    Ok(())
}

/// A person erased or anonymised: the referrer's free text about them goes; the request's
/// status, needs and dates stay for the figures. The referrer's own contact details are the
/// referrer's, not the person's, and stay so the structure can answer them.
pub fn forget_person(conn: &mut DbConn, person_id: i32) -> Result<(), AppError> {
    diesel::update(referrals::table.filter(referrals::person_id.eq(person_id)))
        .set(referrals::message.eq(None::<String>))
        .execute(conn)?;
    Ok(())
}

fn one(conn: &mut DbConn, user: &StaffUser, id: i32, tz: &Tz) -> Result<ReferralOut, AppError> {
    let row = get(conn, user, id)?;
    let (given, family): (String, Option<String>) = people::table
        .find(row.person_id)
        .select((people::given_name, people::family_name))
        .first(conn)?;
    let name = family.map_or(given.clone(), |f| format!("{given} {f}"));
    Ok(out(row, name, tz))
}

/// What staff give to book from a request: the person is the request's.
#[derive(Deserialize, Debug, Default, Clone, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ReferralBooking)]
pub struct BookFromReferral {
    #[schema(minimum = 1, maximum = 2147483647)]
    pub service_id: i32,
    #[schema(minimum = 1, maximum = 2147483647)]
    pub mediator_id: i32,
    #[schema(minimum = 1, maximum = 2147483647)]
    pub place_id: i32,
    #[schema(format = DateTime)]
    pub starts_at: String,
}

/// Books the request's person (the booking service's rules and messages), then marks the
/// request `booked` with its appointment, in one transaction.
pub fn book(
    conn: &mut DbConn,
    user: &StaffUser,
    id: i32,
    input: BookFromReferral,
    config: &Config,
) -> Result<ReferralOut, AppError> {
    crate::db::transaction(conn, |conn| {
        let row = get(conn, user, id)?;
        if matches!(row.status, ReferralStatus::Booked | ReferralStatus::Closed) {
            return Err(AppError::Conflict {
                code: "referral_done",
                message: "Cette demande a déjà un rendez-vous ou est close.".into(),
            });
        }
        let appointment = crate::booking::service::book(
            conn,
            user,
            BookingInput {
                service_id: input.service_id,
                mediator_id: input.mediator_id,
                place_id: input.place_id,
                starts_at: input.starts_at.clone(),
                person_ids: vec![row.person_id],
                ..Default::default()
            },
            config,
        )?;
        diesel::update(referrals::table.find(id))
            .set((
                referrals::status.eq(ReferralStatus::Booked),
                referrals::appointment_id.eq(Some(appointment.row.id)),
                referrals::updated_at.eq(now()),
            ))
            .execute(conn)?;
        crate::audit::record(
            conn,
            Some(user),
            "update",
            "referral",
            Some(id),
            Some(row.organisation_id),
        )?;
        one(conn, user, id, &config.timezone)
    })
}
