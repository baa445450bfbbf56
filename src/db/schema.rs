// The database schema, shared by SQLite and PostgreSQL.
// Kept by hand in step with migrations/sqlite and migrations/postgres.

diesel::table! {
    app_settings (key) {
        key -> Text,
        value -> Text,
    }
}

diesel::table! {
    users (id) {
        id -> BigInt,
        email -> Text,
        name -> Text,
        role -> Text,
        password_hash -> Text,
        active -> Bool,
        language -> Nullable<Text>,
        timezone -> Nullable<Text>,
        failed_logins -> Integer,
        locked_until -> Nullable<Timestamp>,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        capacity -> Integer,
        current_load -> Integer,
        skills -> Text,
        presence -> Text,
        presence_since -> Nullable<Timestamp>,
        last_active_at -> Nullable<Timestamp>,
        last_assigned_at -> Nullable<Timestamp>,
        shift_calendar_id -> Nullable<BigInt>,
        auto_assign -> Bool,
        source -> Text,
        directory_dn -> Nullable<Text>,
    }
}

diesel::table! {
    sessions (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> BigInt,
        csrf_token -> Text,
        created_at -> Timestamp,
        last_seen_at -> Timestamp,
        ip -> Nullable<Text>,
    }
}

diesel::table! {
    api_keys (id) {
        id -> BigInt,
        name -> Text,
        prefix -> Text,
        key_hash -> Text,
        created_at -> Timestamp,
        revoked_at -> Nullable<Timestamp>,
        last_used_at -> Nullable<Timestamp>,
        scopes -> Text,
        expires_at -> Nullable<Timestamp>,
        rate_limit -> Integer,
    }
}

diesel::table! {
    audit_events (id) {
        id -> BigInt,
        at -> Timestamp,
        actor_user_id -> Nullable<BigInt>,
        kind -> Text,
        subject -> Nullable<Text>,
        ip -> Nullable<Text>,
        detail -> Text,
    }
}

diesel::table! {
    calendars (id) {
        id -> BigInt,
        name -> Text,
        timezone -> Text,
        hours -> Text,
        holidays -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    sla_policies (id) {
        id -> BigInt,
        name -> Text,
        calendar_id -> Nullable<BigInt>,
        warn_at_percent -> Text,
        max_pause_minutes -> Integer,
        targets -> Text,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    queues (id) {
        id -> BigInt,
        name -> Text,
        sla_policy_id -> BigInt,
        skills -> Text,
        updated_at -> Timestamp,
        escalation_queue_id -> Nullable<BigInt>,
        service_level -> Nullable<Integer>,
        oncall_rota_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    rules (id) {
        id -> BigInt,
        code -> Text,
        name -> Text,
        category -> Text,
        default_severity -> Text,
        weight -> Integer,
        updated_at -> Timestamp,
        verify_by_email -> Bool,
        release_on_confirm_up_to -> Nullable<Text>,
        emergency_amount -> Nullable<Text>,
    }
}

diesel::table! {
    routes (id) {
        id -> BigInt,
        position -> Integer,
        rule_code -> Nullable<Text>,
        category -> Nullable<Text>,
        min_severity -> Nullable<Text>,
        min_amount -> Nullable<Text>,
        currency -> Nullable<Text>,
        queue_id -> BigInt,
        priority -> Nullable<Text>,
        valid_from -> Nullable<Timestamp>,
        valid_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    customers (id) {
        id -> BigInt,
        external_id -> Text,
        name -> Nullable<Text>,
        email -> Nullable<Text>,
        phone -> Nullable<Text>,
        locale -> Nullable<Text>,
        timezone -> Nullable<Text>,
        attributes -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        do_not_contact -> Bool,
        active_snoozes -> Integer,
    }
}

diesel::table! {
    cases (id) {
        id -> BigInt,
        customer_id -> BigInt,
        queue_id -> BigInt,
        priority -> Text,
        status -> Text,
        rule_code -> Text,
        open_key -> Nullable<Text>,
        opened_at -> Timestamp,
        updated_at -> Timestamp,
        first_response_due -> Timestamp,
        resolution_due -> Timestamp,
        first_responded_at -> Nullable<Timestamp>,
        resolved_at -> Nullable<Timestamp>,
        paused_since -> Nullable<Timestamp>,
        pause_reason -> Nullable<Text>,
        paused_minutes -> Integer,
        breached -> Bool,
        assignee_id -> Nullable<BigInt>,
        disposition -> Nullable<Text>,
        alert_count -> Integer,
        weight -> Integer,
        assigned_at -> Nullable<Timestamp>,
        started_at -> Nullable<Timestamp>,
        next_due -> Nullable<Timestamp>,
        next_alarm_at -> Nullable<Timestamp>,
        sla_started_at -> Nullable<Timestamp>,
        resolved_by -> Nullable<BigInt>,
        reopen_count -> Integer,
        qa_pending -> Bool,
        qa_reviewed_at -> Nullable<Timestamp>,
        waiting_since -> Nullable<Timestamp>,
        campaign_id -> Nullable<BigInt>,
    }
}

diesel::table! {
    resolutions (id) {
        id -> BigInt,
        case_id -> BigInt,
        disposition -> Text,
        action -> Text,
        amount_protected -> Nullable<Text>,
        currency -> Nullable<Text>,
        note -> Text,
        customer_confirmed -> Bool,
        resolver_id -> Nullable<BigInt>,
        created_at -> Timestamp,
        approval_reason -> Nullable<Text>,
        state -> Text,
        approver_id -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
        decision_note -> Nullable<Text>,
    }
}

diesel::table! {
    alerts (id) {
        id -> BigInt,
        external_id -> Text,
        rule_code -> Text,
        severity -> Text,
        occurred_at -> Nullable<Timestamp>,
        received_at -> Timestamp,
        customer_id -> BigInt,
        case_id -> Nullable<BigInt>,
        amount -> Nullable<Text>,
        currency -> Nullable<Text>,
        transaction_ref -> Nullable<Text>,
        attributes -> Text,
        api_key_id -> Nullable<BigInt>,
        result -> Nullable<Text>,
        suppressed_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    case_events (id) {
        id -> BigInt,
        case_id -> BigInt,
        at -> Timestamp,
        kind -> Text,
        actor_user_id -> Nullable<BigInt>,
        data -> Text,
    }
}

diesel::table! {
    queue_members (queue_id, user_id) {
        queue_id -> BigInt,
        user_id -> BigInt,
    }
}

diesel::table! {
    case_alarms (case_id, kind) {
        case_id -> BigInt,
        kind -> Text,
        fired_at -> Timestamp,
        superseded -> Bool,
    }
}

diesel::table! {
    notifications (id) {
        id -> BigInt,
        user_id -> BigInt,
        at -> Timestamp,
        kind -> Text,
        case_id -> Nullable<BigInt>,
        data -> Text,
        read_at -> Nullable<Timestamp>,
        first_at -> Timestamp,
        occurrences -> Integer,
        grouped -> Bool,
        open_key -> Nullable<Text>,
    }
}

diesel::table! {
    notification_cases (notification_id, case_id) {
        notification_id -> BigInt,
        case_id -> BigInt,
        at -> Timestamp,
        data -> Text,
    }
}

diesel::table! {
    notification_prefs (user_id, kind) {
        user_id -> BigInt,
        kind -> Text,
        in_app -> Bool,
        email -> Text,
    }
}

diesel::table! {
    notification_digests (id) {
        id -> BigInt,
        user_id -> BigInt,
        at -> Timestamp,
        kind -> Text,
        case_id -> Nullable<BigInt>,
        data -> Text,
        due_at -> Timestamp,
    }
}

diesel::table! {
    outbox (id) {
        id -> BigInt,
        message_id -> Text,
        kind -> Text,
        case_id -> Nullable<BigInt>,
        to_addr -> Text,
        subject -> Text,
        body_text -> Text,
        body_html -> Nullable<Text>,
        created_at -> Timestamp,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        last_error -> Nullable<Text>,
        sent_at -> Nullable<Timestamp>,
        failed_at -> Nullable<Timestamp>,
        claimed_until -> Nullable<Timestamp>,
        claim -> Nullable<Text>,
        reply_to -> Nullable<Text>,
        in_reply_to -> Nullable<Text>,
    }
}

diesel::table! {
    mail_templates (id) {
        id -> BigInt,
        name -> Text,
        purpose -> Text,
        lang -> Text,
        subject -> Text,
        body -> Text,
        updated_at -> Timestamp,
        updated_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    mail_template_scopes (name) {
        name -> Text,
        rule_codes -> Text,
        states -> Text,
    }
}

diesel::table! {
    mail_template_versions (id) {
        id -> BigInt,
        name -> Text,
        version -> Integer,
        purpose -> Text,
        rule_codes -> Text,
        states -> Text,
        subject_en -> Text,
        body_en -> Text,
        subject_zh -> Text,
        body_zh -> Text,
        created_at -> Timestamp,
        created_by -> Nullable<BigInt>,
        restored_from -> Nullable<Integer>,
    }
}

diesel::table! {
    security_tips (id) {
        id -> BigInt,
        label -> Text,
        text_en -> Text,
        text_zh -> Text,
        rule_codes -> Text,
        active -> Bool,
        position -> Integer,
        updated_at -> Timestamp,
        updated_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    customer_tokens (id) {
        id -> BigInt,
        token_hash -> Text,
        purpose -> Text,
        case_id -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    messages (id) {
        id -> BigInt,
        case_id -> BigInt,
        direction -> Text,
        channel -> Text,
        body -> Text,
        author_id -> Nullable<BigInt>,
        template -> Nullable<Text>,
        email_message_id -> Nullable<Text>,
        outbox_id -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    message_attachments (id) {
        id -> BigInt,
        message_id -> BigInt,
        file_name -> Text,
        content_type -> Text,
        size -> BigInt,
        sha256 -> Text,
        bytes -> Binary,
    }
}

diesel::table! {
    inbound_mail (id) {
        id -> BigInt,
        dedup_key -> Text,
        source -> Text,
        envelope_to -> Nullable<Text>,
        raw -> Binary,
        size -> BigInt,
        received_at -> Timestamp,
        processed_at -> Nullable<Timestamp>,
        outcome -> Nullable<Text>,
        reason -> Nullable<Text>,
        case_id -> Nullable<BigInt>,
        message_row -> Nullable<BigInt>,
        from_addr -> Nullable<Text>,
        subject -> Nullable<Text>,
        decided_by -> Nullable<BigInt>,
        decided_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    satisfaction (id) {
        id -> BigInt,
        case_id -> BigInt,
        score -> Integer,
        comment -> Nullable<Text>,
        agent_id -> Nullable<BigInt>,
        queue_id -> BigInt,
        rule_code -> Text,
        answered_at -> Timestamp,
    }
}

diesel::table! {
    customer_identifiers (value_hash, customer_id) {
        kind -> Text,
        value_hash -> Text,
        customer_id -> BigInt,
        masked -> Text,
        last_seen_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    campaigns (case_id) {
        case_id -> BigInt,
        rule_name -> Nullable<Text>,
        opened_by -> Nullable<BigInt>,
        merged_into -> Nullable<BigInt>,
    }
}

diesel::table! {
    campaign_links (campaign_id, value_hash) {
        campaign_id -> BigInt,
        kind -> Text,
        value_hash -> Text,
        masked -> Text,
    }
}

diesel::table! {
    playbooks (id) {
        id -> BigInt,
        rule_code -> Text,
        lang -> Text,
        steps -> Text,
        script -> Text,
        updated_at -> Timestamp,
        updated_by -> Nullable<BigInt>,
    }
}

diesel::table! {
    calls (id) {
        id -> BigInt,
        case_id -> BigInt,
        agent_id -> Nullable<BigInt>,
        at -> Timestamp,
        number_masked -> Text,
        direction -> Text,
        outcome -> Text,
        duration_seconds -> Nullable<Integer>,
        notes -> Text,
        callback_at -> Nullable<Timestamp>,
        reminded_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    qa_reviews (id) {
        id -> BigInt,
        case_id -> BigInt,
        reviewer_id -> BigInt,
        resolver_id -> Nullable<BigInt>,
        identity_verified -> Bool,
        disposition_supported -> Bool,
        communication_appropriate -> Bool,
        timeline_complete -> Bool,
        passed -> Bool,
        comment -> Nullable<Text>,
        reviewed_at -> Timestamp,
    }
}

diesel::table! {
    case_facts (case_id) {
        case_id -> BigInt,
        queue_id -> BigInt,
        rule_code -> Text,
        agent_id -> Nullable<BigInt>,
        priority -> Text,
        opened_at -> Timestamp,
        resolved_at -> Nullable<Timestamp>,
        first_response_secs -> Nullable<BigInt>,
        resolution_secs -> Nullable<BigInt>,
        first_response_met -> Nullable<Bool>,
        resolution_met -> Nullable<Bool>,
        unassigned_secs -> BigInt,
        agent_secs -> BigInt,
        customer_secs -> BigInt,
        breach_unassigned_secs -> BigInt,
        breach_agent_secs -> BigInt,
        breach_customer_secs -> BigInt,
        disposition -> Nullable<Text>,
        customer_confirmed -> Bool,
        amount_protected -> Nullable<Text>,
        currency -> Nullable<Text>,
        reopen_count -> Integer,
        alert_count -> Integer,
        calls -> Integer,
        calls_reached -> Integer,
        emails -> Integer,
        emails_answered -> Integer,
        survey_sent -> Bool,
        survey_score -> Nullable<Integer>,
        case_updated_at -> Timestamp,
        computed_at -> Timestamp,
    }
}

diesel::table! {
    weekly_briefs (week) {
        week -> Text,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        timezone -> Text,
        figures -> Text,
        built_at -> Timestamp,
        mailed_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    jobs (name) {
        name -> Text,
        watermark -> Nullable<Timestamp>,
        lease_owner -> Nullable<Text>,
        lease_until -> Nullable<Timestamp>,
    }
}

diesel::table! {
    saved_views (id) {
        id -> BigInt,
        owner_id -> BigInt,
        name -> Text,
        shared -> Bool,
        query -> Text,
        created_at -> Timestamp,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    aml_reports (case_id) {
        case_id -> BigInt,
        started_at -> Timestamp,
        warn_at -> Timestamp,
        due_at -> Timestamp,
        warned_at -> Nullable<Timestamp>,
        breached_at -> Nullable<Timestamp>,
        filed_at -> Nullable<Timestamp>,
        filed_by -> Nullable<BigInt>,
        reference -> Nullable<Text>,
    }
}

diesel::table! {
    snoozes (id) {
        id -> BigInt,
        customer_id -> BigInt,
        rule_code -> Text,
        case_id -> BigInt,
        reason -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
        until -> Timestamp,
        ended_at -> Nullable<Timestamp>,
        ended_by -> Nullable<BigInt>,
        end_reason -> Nullable<Text>,
    }
}

diesel::table! {
    webhooks (id) {
        id -> BigInt,
        name -> Text,
        url -> Text,
        events -> Text,
        secret -> Text,
        enabled -> Bool,
        delivered -> BigInt,
        created_at -> Timestamp,
        rotated_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_deliveries (id) {
        id -> BigInt,
        webhook_id -> BigInt,
        event_id -> Text,
        event_type -> Text,
        case_id -> BigInt,
        body -> Text,
        created_at -> Timestamp,
        attempts -> Integer,
        next_attempt_at -> Nullable<Timestamp>,
        claimed_until -> Nullable<Timestamp>,
        claim -> Nullable<Text>,
        last_status -> Nullable<Integer>,
        last_error -> Nullable<Text>,
        delivered_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    webhook_outbox (id) {
        id -> BigInt,
        event_id -> Text,
        event_type -> Text,
        case_id -> BigInt,
        body -> Text,
        created_at -> Timestamp,
    }
}

diesel::table! {
    oncall_rotas (id) {
        id -> BigInt,
        name -> Text,
        position -> Integer,
        timezone -> Text,
        members -> Text,
        rotation_hours -> Integer,
        handover -> Timestamp,
        ack_minutes -> Integer,
        next_rota -> Nullable<Text>,
        updated_at -> Timestamp,
    }
}

diesel::table! {
    oncall_overrides (id) {
        id -> BigInt,
        rota_id -> BigInt,
        user_id -> BigInt,
        starts_at -> Timestamp,
        ends_at -> Timestamp,
        reason -> Text,
        created_by -> Nullable<BigInt>,
        created_at -> Timestamp,
    }
}

diesel::table! {
    login_failures (id) {
        id -> BigInt,
        addr -> Text,
        at -> Timestamp,
    }
}

diesel::table! {
    emergencies (id) {
        id -> BigInt,
        case_id -> BigInt,
        cause -> Text,
        reason -> Text,
        declared_by -> Nullable<BigInt>,
        declared_at -> Timestamp,
        level -> Integer,
        rota -> Nullable<Text>,
        ack_due_at -> Nullable<Timestamp>,
        acknowledged_by -> Nullable<BigInt>,
        acknowledged_at -> Nullable<Timestamp>,
        ended_at -> Nullable<Timestamp>,
        ended_by -> Nullable<BigInt>,
        ended_how -> Nullable<Text>,
        end_reason -> Nullable<Text>,
    }
}

diesel::table! {
    pages (id) {
        id -> BigInt,
        emergency_id -> BigInt,
        user_id -> BigInt,
        level -> Integer,
        rota -> Nullable<Text>,
        paged_at -> Timestamp,
        answered_at -> Nullable<Timestamp>,
        answer -> Nullable<Text>,
    }
}

diesel::table! {
    mfa_factors (user_id) {
        user_id -> BigInt,
        secret_sealed -> Text,
        created_at -> Timestamp,
        confirmed_at -> Nullable<Timestamp>,
        last_step -> Nullable<BigInt>,
    }
}

diesel::table! {
    mfa_recovery_codes (id) {
        id -> BigInt,
        user_id -> BigInt,
        code_hash -> Text,
        created_at -> Timestamp,
        used_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    mfa_challenges (id) {
        id -> BigInt,
        token_hash -> Text,
        user_id -> BigInt,
        created_at -> Timestamp,
        expires_at -> Timestamp,
        ip -> Nullable<Text>,
    }
}

diesel::joinable!(sessions -> users (user_id));
diesel::joinable!(queue_members -> users (user_id));
diesel::joinable!(queue_members -> queues (queue_id));
diesel::joinable!(notifications -> users (user_id));
diesel::joinable!(notification_cases -> notifications (notification_id));
diesel::joinable!(notification_cases -> cases (case_id));
diesel::joinable!(notification_prefs -> users (user_id));
diesel::joinable!(notification_digests -> users (user_id));
diesel::joinable!(audit_events -> users (actor_user_id));

diesel::joinable!(sla_policies -> calendars (calendar_id));
diesel::joinable!(queues -> sla_policies (sla_policy_id));
diesel::joinable!(routes -> queues (queue_id));
diesel::joinable!(cases -> customers (customer_id));
diesel::joinable!(cases -> queues (queue_id));
diesel::joinable!(resolutions -> cases (case_id));
diesel::joinable!(alerts -> cases (case_id));
diesel::joinable!(alerts -> customers (customer_id));
diesel::joinable!(case_events -> cases (case_id));

diesel::table! {
    articles (id) {
        id -> BigInt,
        status -> Text,
        title_en -> Text,
        title_zh -> Text,
        body_en -> Text,
        body_zh -> Text,
        search_text -> Text,
        version -> Integer,
        notify_version -> Integer,
        source_case_id -> Nullable<BigInt>,
        author_id -> BigInt,
        created_at -> Timestamp,
        updated_at -> Timestamp,
        updated_by -> BigInt,
        published_at -> Nullable<Timestamp>,
        notified_at -> Nullable<Timestamp>,
        retired_at -> Nullable<Timestamp>,
    }
}

diesel::table! {
    article_rules (article_id, rule_code) {
        article_id -> BigInt,
        rule_code -> Text,
    }
}

diesel::table! {
    article_versions (id) {
        id -> BigInt,
        article_id -> BigInt,
        version -> Integer,
        title_en -> Text,
        title_zh -> Text,
        body_en -> Text,
        body_zh -> Text,
        rules -> Text,
        notify -> Bool,
        edited_by -> BigInt,
        edited_at -> Timestamp,
    }
}

diesel::table! {
    article_reads (user_id, article_id) {
        user_id -> BigInt,
        article_id -> BigInt,
        version -> Integer,
        read_at -> Timestamp,
    }
}

diesel::allow_tables_to_appear_in_same_query!(
    app_settings,
    users,
    sessions,
    api_keys,
    audit_events,
    calendars,
    sla_policies,
    queues,
    rules,
    routes,
    customers,
    cases,
    alerts,
    case_events,
    queue_members,
    case_alarms,
    notifications,
    notification_cases,
    notification_prefs,
    notification_digests,
    resolutions,
    outbox,
    mail_templates,
    customer_tokens,
    messages,
    message_attachments,
    inbound_mail,
    satisfaction,
    customer_identifiers,
    playbooks,
    calls,
    qa_reviews,
    weekly_briefs,
    case_facts,
    jobs,
    campaigns,
    campaign_links,
    saved_views,
    webhooks,
    webhook_deliveries,
    webhook_outbox,
    emergencies,
    login_failures,
    pages,
    snoozes,
    aml_reports,
    oncall_rotas,
    oncall_overrides,
    mfa_factors,
    mfa_recovery_codes,
    mfa_challenges,
    articles,
    article_rules,
    article_versions,
    article_reads,
);
diesel::joinable!(qa_reviews -> cases (case_id));
diesel::joinable!(customer_identifiers -> customers (customer_id));
diesel::joinable!(calls -> cases (case_id));
diesel::joinable!(messages -> cases (case_id));
diesel::joinable!(message_attachments -> messages (message_id));
diesel::joinable!(case_facts -> cases (case_id));
diesel::joinable!(campaigns -> cases (case_id));
diesel::joinable!(case_facts -> queues (queue_id));
diesel::joinable!(saved_views -> users (owner_id));
diesel::joinable!(webhook_deliveries -> webhooks (webhook_id));
diesel::joinable!(snoozes -> customers (customer_id));
diesel::joinable!(aml_reports -> cases (case_id));
diesel::joinable!(emergencies -> cases (case_id));
diesel::joinable!(pages -> emergencies (emergency_id));
diesel::joinable!(oncall_overrides -> oncall_rotas (rota_id));
diesel::joinable!(oncall_overrides -> users (user_id));
diesel::joinable!(mfa_factors -> users (user_id));
diesel::joinable!(mfa_recovery_codes -> users (user_id));
diesel::joinable!(mfa_challenges -> users (user_id));
diesel::joinable!(article_rules -> articles (article_id));
diesel::joinable!(article_versions -> articles (article_id));
diesel::joinable!(article_reads -> articles (article_id));
diesel::joinable!(article_reads -> users (user_id));
