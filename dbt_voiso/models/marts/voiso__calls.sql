{#- One row per call. Durations are seconds; handle time is talk plus hold. -#}
with calls as (
    select * from {{ ref('stg_voiso__cdrs') }} where cdr_type = 'call'
),

typed as (
    select
        cdr_id as call_id,
        subtype as direction,
        disposition,
        {{ dbt_voiso.voiso_json_text('data_json', 'queue.id') }} as queue_id,
        {{ dbt_voiso.voiso_json_text('data_json', 'queue.name') }} as queue_name,
        {{ dbt_voiso.voiso_json_text('data_json', 'campaign.id') }} as campaign_id,
        {{ dbt_voiso.voiso_json_text('data_json', 'campaign.name') }} as campaign_name,
        user_id as agent_id,
        user_name as agent_name,
        started_at,
        ended_at,
        started_at_local,
        local_date,
        local_hour,
        coalesce({{ dbt_voiso.voiso_json_number('data_json', 'durations.dialing') }}, 0) as dialing_seconds,
        coalesce({{ dbt_voiso.voiso_json_number('data_json', 'durations.ivr') }}, 0) as ivr_seconds,
        coalesce({{ dbt_voiso.voiso_json_number('data_json', 'durations.queue') }}, 0) as queue_seconds,
        coalesce({{ dbt_voiso.voiso_json_number('data_json', 'durations.talk') }}, 0) as talk_seconds,
        coalesce({{ dbt_voiso.voiso_json_number('data_json', 'durations.hold') }}, 0) as hold_seconds,
        coalesce({{ dbt_voiso.voiso_json_number('data_json', 'durations.overall') }}, 0) as overall_seconds,
        {{ dbt_voiso.voiso_in_list('disposition', var('voiso_answered_dispositions', ['answered'])) }} as is_answered,
        {{ dbt_voiso.voiso_in_list('disposition', var('voiso_abandoned_dispositions', ['abandoned'])) }} as is_abandoned,
        {{ dbt_voiso.voiso_json_text('data_json', 'end_reason') }} as end_reason,
        {{ dbt_voiso.voiso_json_text('data_json', 'wrapup_code.code_snapshot') }} as wrapup_code,
        {{ dbt_voiso.voiso_json_number('data_json', 'mos') }} as mos,
        {{ dbt_voiso.voiso_json_number('data_json', 'mos_tc') }} as mos_tc,
        {{ dbt_voiso.voiso_json_number('data_json', 'conversation_score') }} as conversation_score,
        cost,
        {{ dbt_voiso.voiso_json_text('data_json', 'destination_country') }} as destination_country,
        from_phone_number,
        to_phone_number
    from calls
)

select
    *,
    talk_seconds + hold_seconds as handle_seconds,
    case
        when is_answered then 'answered'
        when is_abandoned then 'abandoned'
        else 'unanswered'
    end as outcome,
    is_answered and queue_seconds <= {{ var('voiso_service_level_seconds', 20) }} as is_answered_within_service_level
from typed
