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
    {{ dbt_voiso.voiso_contact_columns() }},
    {{ dbt_voiso.voiso_duration_columns(['overall', 'queue', 'talk']) }},
    {%- for sla in slas %}
    {{ dbt_voiso.voiso_json_number('data_json', 'service_level_agreements.' ~ sla ~ '.value') }} as {{ sla }}_sla_seconds,
    {{ dbt_voiso.voiso_json_text('data_json', 'service_level_agreements.' ~ sla ~ '.status') }} as {{ sla }}_sla_status,
    coalesce({{ dbt_voiso.voiso_json_text('data_json', 'service_level_agreements.' ~ sla ~ '.status') }} = 'breached', false) as {{ sla }}_sla_breached,
    {%- endfor %}
    {{ dbt_voiso.voiso_json_text('data_json', 'wrapup_code.code_snapshot') }} as wrapup_code,
    from_channel_identifier as customer_identifier,
    cost
from conversations
