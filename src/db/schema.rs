// The one schema both backends share; migrations/sqlite and migrations/postgres must match it.

diesel::table! {
    organisations (id) {
        id -> Integer,
        name -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    users (id) {
        id -> Integer,
        organisation_id -> Integer,
        email -> Text,
        name -> Text,
        role -> Text,
        password_hash -> Text,
        active -> Bool,
        created_at -> Timestamp,
    }
}

diesel::table! {
    sessions (id) {
        id -> Integer,
        token_hash -> Text,
        user_id -> Integer,
        csrf_token -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    api_tokens (id) {
        id -> Integer,
        token_hash -> Text,
        user_id -> Integer,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    login_failures (id) {
        id -> Integer,
        email -> Text,
        ip -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    setup_tokens (id) {
        id -> Integer,
        token_hash -> Text,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    places (id) {
        id -> Integer,
        organisation_id -> Integer,
        name -> Text,
        address -> Text,
        postal_code -> Text,
        city -> Text,
        phone -> Nullable<Text>,
        accessibility_notes -> Nullable<Text>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    programmes (id) {
        id -> Integer,
        name -> Text,
        funder -> Nullable<Text>,
        starts_on -> Nullable<Date>,
        ends_on -> Nullable<Date>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    people (id) {
        id -> Integer,
        organisation_id -> Integer,
        given_name -> Text,
        family_name -> Nullable<Text>,
        birth_year -> Nullable<Integer>,
        postal_code -> Nullable<Text>,
        city -> Nullable<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        reminder_consent -> Bool,
        referent_name -> Nullable<Text>,
        referent_email -> Nullable<Text>,
        referent_organisation -> Nullable<Text>,
        notes -> Nullable<Text>,
        search_key -> Text,
        anonymised_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    person_programmes (person_id, programme_id) {
        person_id -> Integer,
        programme_id -> Integer,
    }
}

diesel::table! {
    audit_log (id) {
        id -> Integer,
        at -> Timestamp,
        actor_id -> Nullable<Integer>,
        action -> Text,
        entity -> Text,
        entity_id -> Nullable<Integer>,
        organisation_id -> Nullable<Integer>,
    }
}

diesel::joinable!(users -> organisations (organisation_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(places -> organisations (organisation_id));
diesel::joinable!(people -> organisations (organisation_id));
diesel::joinable!(person_programmes -> people (person_id));
diesel::joinable!(person_programmes -> programmes (programme_id));

diesel::allow_tables_to_appear_in_same_query!(
    organisations,
    users,
    sessions,
    api_tokens,
    login_failures,
    setup_tokens,
    places,
    programmes,
    people,
    person_programmes,
    audit_log,
);
