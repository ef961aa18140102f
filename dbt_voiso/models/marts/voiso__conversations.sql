{#- One row per messaging conversation, with each SLA's value, status and breach flag. -#}
{%- set slas = ['first_response', 'resolution', 'avg_reply'] -%}
{{ dbt_voiso.voiso_incremental_config('conversation_id') }}
with conversations as (
    select * from {{ ref('stg_voiso__cdrs') }}
    where cdr_type = 'conversation' and {{ dbt_voiso.voiso_built_since_last_build('dbt_built_at') }}
),

typed as (
select
    cdr_id as conversation_id,
    coalesce({{ dbt_voiso.voiso_json_text('data_json', 'channel') }}, subtype) as channel,
    disposition,
    {{ dbt_voiso.voiso_json_text('data_json', 'flow.id') }} as flow_id,
    {{ dbt_voiso.voiso_json_text('data_json', 'flow.name') }} as flow_name,
    {{ dbt_voiso.voiso_contact_columns() }},
    {{ dbt_voiso.voiso_duration_columns(['overall', 'queue', 'talk']) }},
    {%- for sla in slas %}
    {{ dbt_voiso.voiso_json_number('data_json', 'service_level_agreements.' ~ sla ~ '.value') }} as {{ sla }}_sla_seconds,
    {{ dbt_voiso.voiso_json_text('data_json', 'service_level_agreements.' ~ sla ~ '.status') }} as {{ sla }}_sla_status,
    coalesce({{ dbt_voiso.voiso_json_text('data_json', 'service_level_agreements.' ~ sla ~ '.status') }} = 'breached', false) as {{ sla }}_sla_breached,
    {%- endfor %}
    {{ dbt_voiso.voiso_json_text('data_json', 'wrapup_code.code_snapshot') }} as wrapup_code,
    from_channel_identifier as customer_identifier,
    cost,
    loaded_at,
    {{ dbt_voiso.voiso_built_at() }} as dbt_built_at,
    {{ dbt_voiso.voiso_in_list('disposition', var('voiso_conversation_handled_dispositions', ['resolved', 'archived'])) }} as is_handled,
    {{ dbt_voiso.voiso_in_list('disposition', var('voiso_conversation_abandoned_dispositions', ['missed'])) }} as is_abandoned
from conversations
)

select
    *,
    talk_seconds as handle_seconds,
    is_abandoned and queue_seconds <= {{ var('voiso_short_abandon_seconds', 5) }} as is_short_abandoned,
    is_handled and queue_seconds <= {{ var('voiso_service_level_seconds', 20) }} as is_handled_within_service_level,
    is_handled and has_transfer_tag as is_transferred_out
from typed
