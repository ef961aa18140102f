{#- One row per call. Durations are seconds; handle time is talk plus hold. -#}
{{ dbt_voiso.voiso_incremental_config('call_id') }}
with calls as (
    select * from {{ ref('stg_voiso__cdrs') }}
    where cdr_type = 'call' and {{ dbt_voiso.voiso_built_since_last_build('dbt_built_at') }}
),

typed as (
    select
        cdr_id as call_id,
        subtype as direction,
        disposition,
        {{ dbt_voiso.voiso_json_text('data_json', 'campaign.id') }} as campaign_id,
        {{ dbt_voiso.voiso_json_text('data_json', 'campaign.name') }} as campaign_name,
        {{ dbt_voiso.voiso_contact_columns() }},
        {{ dbt_voiso.voiso_duration_columns(['dialing', 'ivr', 'queue', 'talk', 'hold', 'overall']) }},
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
        to_phone_number,
        loaded_at,
        {{ dbt_voiso.voiso_built_at() }} as dbt_built_at
    from calls
)

select
    *,
    talk_seconds + hold_seconds as handle_seconds,
    is_abandoned and queue_seconds <= {{ var('voiso_short_abandon_seconds', 5) }} as is_short_abandoned,
    is_answered and has_transfer_tag as is_transferred_out,
    is_answered and coalesce(end_reason = 'agent', false) as is_agent_hung_up_first,
    case
        when is_answered then 'answered'
        when is_abandoned then 'abandoned'
        else 'unanswered'
    end as outcome,
    is_answered and queue_seconds <= {{ var('voiso_service_level_seconds', 20) }} as is_answered_within_service_level
from typed
