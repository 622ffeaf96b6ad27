//! The OpenAPI schemas of the public types' constrained fields (a service's kind, a language,
//! an optional email, the thématiques a referrer may give, the answers' statuses), kept apart
//! from the types that name them.

use crate::status::{ParticipantStatus, ReferralStatus};

pub(super) fn kind_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of(["individual", "workshop"])
}

pub(super) fn bookable_by_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of(["referrers", "public"])
}

pub(super) fn language_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of_or_null(crate::i18n::LANGUAGES)
}

/// An address, an empty string or null (no address).
pub(super) fn optional_email_schema() -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{KnownFormat, ObjectBuilder, OneOfBuilder, SchemaFormat, Type};
    let email = ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Email)));
    let empty = ObjectBuilder::new()
        .schema_type(Type::String)
        .max_length(Some(0));
    utoipa::openapi::schema::Schema::OneOf(
        OneOfBuilder::new()
            .item(email)
            .item(empty)
            .item(ObjectBuilder::new().schema_type(Type::Null))
            .build(),
    )
}

/// The codes of the thématiques a referrer may give: [`crate::skills::topics`]' digital ones
/// and procedures.
fn topic_codes() -> impl Iterator<Item = &'static str> {
    crate::skills::topics::DIGITAL
        .iter()
        .chain(crate::skills::topics::PROCEDURES.iter())
        .map(|(code, _)| *code)
}

pub(super) fn booking_topics_schema() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(crate::web::openapi::one_of(topic_codes()))
        .max_items(Some(10))
        .build()
}

pub(super) fn referral_topics_schema() -> utoipa::openapi::schema::Array {
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(crate::web::openapi::one_of(topic_codes()))
        .min_items(Some(1))
        .build()
}

pub(super) fn booking_status_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of([
        ParticipantStatus::Booked.as_str(),
        ParticipantStatus::Waitlisted.as_str(),
    ])
}

pub(super) fn received_status_schema() -> utoipa::openapi::schema::Object {
    crate::web::openapi::one_of([ReferralStatus::New.as_str()])
}
