{#- One row per messaging conversation, with each SLA's value, status and breach flag. -#}
{%- set slas = ['first_response', 'resolution', 'avg_reply'] -%}
with conversations as (
    select * from {{ ref('stg_voiso__cdrs') }} where cdr_type = 'conversation'
)

select
    cdr_id as conversation_id,
    coalesce({{ dbt_voiso.voiso_json_text('data_json', 'channel') }}, subtype) as channel,
    disposition,
    {{ dbt_voiso.voiso_json_text('data_json', 'flow.id') }} as flow_id,
    {{ dbt_voiso.voiso_json_text('data_json', 'flow.name') }} as flow_name,
    {{ dbt_voiso.voiso_json_text('data_json', 'queue.id') }} as queue_id,
    {{ dbt_voiso.voiso_json_text('data_json', 'queue.name') }} as queue_name,
    user_id as agent_id,
    user_name as agent_name,
    started_at,
    ended_at,
    started_at_local,
    local_date,
    local_hour,
    coalesce({{ dbt_voiso.voiso_json_number('data_json', 'durations.overall') }}, 0) as overall_seconds,
    coalesce({{ dbt_voiso.voiso_json_number('data_json', 'durations.queue') }}, 0) as queue_seconds,
    coalesce({{ dbt_voiso.voiso_json_number('data_json', 'durations.talk') }}, 0) as talk_seconds,
    {%- for sla in slas %}
    {{ dbt_voiso.voiso_json_number('data_json', 'service_level_agreements.' ~ sla ~ '.value') }} as {{ sla }}_sla_seconds,
    {{ dbt_voiso.voiso_json_text('data_json', 'service_level_agreements.' ~ sla ~ '.status') }} as {{ sla }}_sla_status,
    coalesce({{ dbt_voiso.voiso_json_text('data_json', 'service_level_agreements.' ~ sla ~ '.status') }} = 'breached', false) as {{ sla }}_sla_breached,
    {%- endfor %}
    {{ dbt_voiso.voiso_json_text('data_json', 'wrapup_code.code_snapshot') }} as wrapup_code,
    from_channel_identifier as customer_identifier,
    cost
from conversations
