{#- One row per local day, channel and queue (NULL: no queue). Each share is over the
    conversations that have that SLA measured. -#}
{%- set slas = ['first_response', 'resolution', 'avg_reply'] -%}
select
    local_date,
    channel,
    queue_id,
    max(queue_name) as queue_name,
    count(*) as conversations,
    {%- for sla in slas %}
    {{ dbt_voiso.voiso_ratio("count(case when " ~ sla ~ "_sla_status = 'ok' then 1 end)", "count(" ~ sla ~ "_sla_status)") }} as {{ sla }}_sla_met_share,
    count(case when {{ sla }}_sla_breached then 1 end) as {{ sla }}_sla_breaches,
    {%- endfor %}
    {{ dbt_voiso.voiso_median('first_response_sla_seconds') }} as median_first_response_seconds
from {{ ref('voiso__conversations') }}
group by local_date, channel, queue_id
