// The one schema both backends share; migrations/sqlite and migrations/postgres must match it.

diesel::table! {
    organisations (id) {
        id -> Integer,
        name -> Text,
        created_at -> Timestamp,
        slug -> Nullable<Text>,
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
        siret -> Nullable<Text>,
        services -> Text,
        modalites_acces -> Text,
        typologie -> Nullable<Text>,
        presentation_resume -> Nullable<Text>,
        opening_hours -> Nullable<Text>,
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
        name_key -> Text,
        anonymised_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        referent_consent -> Bool,
        sms_consent -> Bool,
        language -> Text,
        gender -> Nullable<Text>,
        social_status -> Nullable<Text>,
        commune_insee -> Nullable<Text>,
        merged_into -> Nullable<Integer>,
    }
}

// SQLite only: the trigram full-text index over people.search_key (see the migration).
diesel::table! {
    people_fts (rowid) {
        rowid -> Integer,
        search_key -> Text,
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

diesel::table! {
    services (id) {
        id -> Integer,
        organisation_id -> Integer,
        name -> Text,
        kind -> Text,
        duration_minutes -> Integer,
        capacity -> Integer,
        min_notice_minutes -> Integer,
        buffer_minutes -> Integer,
        horizon_days -> Integer,
        created_at -> Timestamp,
        what_to_bring -> Nullable<Text>,
        bookable_by -> Text,
        self_reschedule -> Bool,
    }
}

diesel::table! {
    referrals (id) {
        id -> Integer,
        organisation_id -> Integer,
        person_id -> Integer,
        referrer_name -> Text,
        referrer_organisation -> Text,
        referrer_email -> Text,
        referrer_phone -> Nullable<Text>,
        topics -> Text,
        message -> Nullable<Text>,
        status -> Text,
        appointment_id -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    public_attempts (id) {
        id -> Integer,
        bucket -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    opening_hours (id) {
        id -> Integer,
        user_id -> Integer,
        place_id -> Integer,
        weekday -> Integer,
        start_minute -> Integer,
        end_minute -> Integer,
        valid_from -> Nullable<Date>,
        valid_until -> Nullable<Date>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    absences (id) {
        id -> Integer,
        user_id -> Integer,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        reason -> Nullable<Text>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    appointments (id) {
        id -> Integer,
        organisation_id -> Integer,
        service_id -> Integer,
        mediator_id -> Integer,
        place_id -> Integer,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        blocked_until -> Timestamp,
        capacity -> Integer,
        title -> Nullable<Text>,
        notes -> Nullable<Text>,
        status -> Text,
        walk_in -> Bool,
        cancelled_by -> Nullable<Text>,
        cancel_reason -> Nullable<Text>,
        sequence -> Integer,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    participants (id) {
        id -> Integer,
        appointment_id -> Integer,
        person_id -> Integer,
        status -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    messages (id) {
        id -> Integer,
        organisation_id -> Integer,
        appointment_id -> Nullable<Integer>,
        person_id -> Integer,
        kind -> Text,
        recipient -> Text,
        recipient_kind -> Text,
        sequence -> Integer,
        due_at -> Timestamp,
        status -> Text,
        attempts -> Integer,
        last_error -> Nullable<Text>,
        locked_by -> Nullable<Text>,
        locked_until -> Nullable<Timestamp>,
        sent_at -> Nullable<Timestamp>,
        subject -> Nullable<Text>,
        body -> Nullable<Text>,
        created_at -> Timestamp,
        assignment_id -> Nullable<Integer>,
        channel -> Text,
        delivery -> Nullable<Text>,
    }
}

diesel::table! {
    idempotency_keys (user_id, key) {
        user_id -> Integer,
        key -> Text,
        fingerprint -> Text,
        status -> Integer,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    calendar_feeds (id) {
        id -> Integer,
        user_id -> Integer,
        token_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    skill_domains (id) {
        id -> Integer,
        code -> Text,
        name -> Text,
        pix_code -> Nullable<Text>,
        digcomp_code -> Nullable<Text>,
        position -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    skills (id) {
        id -> Integer,
        domain_id -> Integer,
        code -> Text,
        name -> Text,
        description -> Nullable<Text>,
        position -> Integer,
        retired_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    session_logs (id) {
        id -> Integer,
        appointment_id -> Integer,
        person_id -> Integer,
        version -> Integer,
        current -> Bool,
        attendance -> Text,
        duration_minutes -> Nullable<Integer>,
        topics -> Text,
        device -> Nullable<Text>,
        autonomy -> Nullable<Text>,
        orientation -> Nullable<Text>,
        note -> Nullable<Text>,
        author_id -> Integer,
        created_at -> Timestamp,
        equipment_id -> Nullable<Integer>,
        location_type -> Nullable<Text>,
        orientation_note -> Nullable<Text>,
    }
}

diesel::table! {
    anonymous_attendees (appointment_id) {
        appointment_id -> Integer,
        attendees -> Integer,
    }
}

diesel::table! {
    assessments (id) {
        id -> Integer,
        person_id -> Integer,
        skill_id -> Integer,
        level -> Integer,
        kind -> Text,
        session_log_id -> Nullable<Integer>,
        active -> Bool,
        assessed_at -> Timestamp,
        author_id -> Integer,
        created_at -> Timestamp,
    }
}

diesel::table! {
    equipment (id) {
        id -> Integer,
        organisation_id -> Integer,
        kind -> Text,
        model -> Nullable<Text>,
        serial -> Nullable<Text>,
        imei -> Nullable<Text>,
        iccid -> Nullable<Text>,
        phone_number -> Nullable<Text>,
        operator -> Nullable<Text>,
        data_allowance -> Nullable<Text>,
        valid_until -> Nullable<Date>,
        programme_id -> Nullable<Integer>,
        status -> Text,
        current_holder_id -> Nullable<Integer>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    assignments (id) {
        id -> Integer,
        equipment_id -> Integer,
        person_id -> Integer,
        mode -> Text,
        handed_over_on -> Date,
        due_back_on -> Nullable<Date>,
        acceptance -> Text,
        accepted_by_name -> Nullable<Text>,
        returned_on -> Nullable<Date>,
        return_condition -> Nullable<Text>,
        author_id -> Integer,
        created_at -> Timestamp,
        accepted_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    equipment_events (id) {
        id -> Integer,
        equipment_id -> Integer,
        person_id -> Nullable<Integer>,
        action -> Text,
        status -> Text,
        note -> Nullable<Text>,
        actor_id -> Nullable<Integer>,
        at -> Timestamp,
    }
}

diesel::table! {
    skill_progress (person_id, skill_id) {
        person_id -> Integer,
        skill_id -> Integer,
        domain_id -> Integer,
        organisation_id -> Integer,
        first_level -> Integer,
        first_at -> Timestamp,
        last_level -> Integer,
        last_at -> Timestamp,
        progressed_at -> Nullable<Timestamp>,
        autonomous_at -> Nullable<Timestamp>,
        assessments -> Integer,
        autonomous_after -> Nullable<Integer>,
        sessions_to_progress -> Nullable<Integer>,
        sessions_to_autonomy -> Nullable<Integer>,
        last_place_id -> Nullable<Integer>,
        last_author_id -> Integer,
    }
}

diesel::table! {
    domain_progress (person_id, domain_id) {
        person_id -> Integer,
        domain_id -> Integer,
        organisation_id -> Integer,
        last_at -> Timestamp,
        last_place_id -> Nullable<Integer>,
        last_author_id -> Integer,
        skills -> Integer,
        progressed -> Integer,
        autonomous -> Integer,
        gain -> Integer,
        autonomous_skills -> Integer,
        assessments_to_autonomy -> Integer,
        sessions_to_progress -> Nullable<Integer>,
        sessions_to_autonomy -> Integer,
    }
}

diesel::table! {
    activity_days (day, mediator_id, place_id, programme_id) {
        day -> Date,
        mediator_id -> Integer,
        place_id -> Integer,
        programme_id -> Integer,
        organisation_id -> Integer,
        appointments -> Integer,
        workshops -> Integer,
        cancelled_appointments -> Integer,
        booked -> Integer,
        attended -> Integer,
        no_show -> Integer,
        excused -> Integer,
        cancelled -> Integer,
        minutes -> Integer,
    }
}

diesel::table! {
    activity_months (month, mediator_id, place_id, programme_id) {
        month -> Date,
        mediator_id -> Integer,
        place_id -> Integer,
        programme_id -> Integer,
        organisation_id -> Integer,
        appointments -> Integer,
        workshops -> Integer,
        cancelled_appointments -> Integer,
        booked -> Integer,
        attended -> Integer,
        no_show -> Integer,
        excused -> Integer,
        cancelled -> Integer,
        minutes -> Integer,
    }
}

diesel::table! {
    topic_months (month, organisation_id, programme_id, topic) {
        month -> Date,
        organisation_id -> Integer,
        programme_id -> Integer,
        topic -> Text,
        sessions -> Integer,
    }
}

diesel::table! {
    served_days (person_id, day, mediator_id, place_id) {
        person_id -> Integer,
        day -> Date,
        mediator_id -> Integer,
        place_id -> Integer,
        organisation_id -> Integer,
    }
}

diesel::table! {
    served_people (person_id) {
        person_id -> Integer,
        first_day -> Date,
        last_day -> Date,
    }
}

diesel::table! {
    activity_dirty (id) {
        id -> Integer,
        mediator_id -> Integer,
        place_id -> Integer,
        starts_at -> Timestamp,
    }
}

diesel::table! {
    topic_days (day, mediator_id, place_id, programme_id, topic) {
        day -> Date,
        mediator_id -> Integer,
        place_id -> Integer,
        programme_id -> Integer,
        organisation_id -> Integer,
        topic -> Text,
        sessions -> Integer,
    }
}

diesel::table! {
    job_runs (name) {
        name -> Text,
        locked_by -> Nullable<Text>,
        locked_until -> Nullable<Timestamp>,
        last_run_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    skill_months (month, organisation_id, programme_id, skill_id) {
        month -> Date,
        organisation_id -> Integer,
        programme_id -> Integer,
        skill_id -> Integer,
        people -> Integer,
        progressed -> Integer,
        autonomous -> Integer,
        gain -> Integer,
        to_autonomy -> Integer,
        autonomous_pairs -> Integer,
    }
}

diesel::table! {
    domain_months (month, organisation_id, programme_id, domain_id) {
        month -> Date,
        organisation_id -> Integer,
        programme_id -> Integer,
        domain_id -> Integer,
        people -> Integer,
        progressed -> Integer,
        autonomous -> Integer,
        gain -> Integer,
        skills -> Integer,
        assessments_to_autonomy -> Integer,
        autonomous_skills -> Integer,
        sessions_to_progress -> Integer,
        sessions_to_autonomy -> Integer,
    }
}

diesel::table! {
    progress_months (month, organisation_id, programme_id) {
        month -> Date,
        organisation_id -> Integer,
        programme_id -> Integer,
        started -> Integer,
        progressed -> Integer,
        autonomous -> Integer,
    }
}

diesel::table! {
    short_links (code) {
        code -> Text,
        participant_id -> Integer,
        expires_at -> Timestamp,
        created_at -> Timestamp,
    }
}

diesel::table! {
    api_clients (id) {
        id -> Integer,
        organisation_id -> Integer,
        created_by -> Integer,
        name -> Text,
        scopes -> Text,
        token_hash -> Text,
        expires_on -> Nullable<Date>,
        created_at -> Timestamp,
        last_used_at -> Nullable<Timestamp>,
        revoked_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhooks (id) {
        id -> Integer,
        organisation_id -> Integer,
        created_by -> Integer,
        url -> Text,
        events -> Text,
        secret -> Text,
        created_at -> Timestamp,
        deleted_at -> Nullable<Timestamp>,
        disabled_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> Integer,
        webhook_id -> Integer,
        event -> Text,
        delivery_key -> Text,
        sequence_key -> Nullable<Text>,
        body -> Text,
        status -> Text,
        attempts -> Integer,
        due_at -> Timestamp,
        last_error -> Nullable<Text>,
        response_status -> Nullable<Integer>,
        locked_by -> Nullable<Text>,
        locked_until -> Nullable<Timestamp>,
        delivered_at -> Nullable<Timestamp>,
        created_at -> Timestamp,
    }
}

diesel::joinable!(users -> organisations (organisation_id));
diesel::joinable!(api_clients -> users (created_by));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(api_tokens -> users (user_id));
diesel::joinable!(places -> organisations (organisation_id));
diesel::joinable!(people -> organisations (organisation_id));
diesel::joinable!(person_programmes -> people (person_id));
diesel::joinable!(person_programmes -> programmes (programme_id));
diesel::joinable!(services -> organisations (organisation_id));
diesel::joinable!(opening_hours -> users (user_id));
diesel::joinable!(opening_hours -> places (place_id));
diesel::joinable!(absences -> users (user_id));
diesel::joinable!(appointments -> services (service_id));
diesel::joinable!(appointments -> places (place_id));
diesel::joinable!(appointments -> users (mediator_id));
diesel::joinable!(participants -> appointments (appointment_id));
diesel::joinable!(participants -> people (person_id));
diesel::joinable!(calendar_feeds -> users (user_id));
diesel::joinable!(messages -> appointments (appointment_id));
diesel::joinable!(messages -> people (person_id));
diesel::joinable!(messages -> assignments (assignment_id));
diesel::joinable!(skills -> skill_domains (domain_id));
diesel::joinable!(assessments -> skills (skill_id));
diesel::joinable!(assessments -> people (person_id));
diesel::joinable!(session_logs -> appointments (appointment_id));
diesel::joinable!(anonymous_attendees -> appointments (appointment_id));
diesel::joinable!(assignments -> equipment (equipment_id));
diesel::joinable!(assignments -> people (person_id));
diesel::joinable!(equipment_events -> equipment (equipment_id));
diesel::joinable!(skill_progress -> skills (skill_id));
diesel::joinable!(skill_progress -> people (person_id));

diesel::joinable!(referrals -> people (person_id));
diesel::joinable!(referrals -> organisations (organisation_id));

diesel::allow_tables_to_appear_in_same_query!(
    referrals,
    public_attempts,
    api_clients,
    webhooks,
    webhook_deliveries,
    skill_progress,
    domain_progress,
    activity_days,
    activity_dirty,
    served_days,
    served_people,
    activity_months,
    topic_months,
    topic_days,
    organisations,
    users,
    sessions,
    api_tokens,
    login_failures,
    setup_tokens,
    places,
    programmes,
    people,
    people_fts,
    person_programmes,
    audit_log,
    services,
    opening_hours,
    absences,
    appointments,
    participants,
    idempotency_keys,
    calendar_feeds,
    messages,
    short_links,
    skill_domains,
    skills,
    session_logs,
    anonymous_attendees,
    assessments,
    equipment,
    assignments,
    equipment_events,
    job_runs,
    skill_months,
    domain_months,
    progress_months,
);
