{#- One row per local day, channel and queue (NULL: no queue). Each share is over the
    conversations that have that SLA measured. -#}
{{ dbt_voiso.voiso_incremental_grain_config('local_date') }}
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
    {{ dbt_voiso.voiso_percentile('first_response_sla_seconds', 0.5) }} as median_first_response_seconds,
    {{ dbt_voiso.voiso_built_at() }} as dbt_built_at
from {{ ref('voiso__conversations') }}
where {{ dbt_voiso.voiso_grain_rebuilt('local_date', [ref('voiso__conversations')]) }}
group by local_date, channel, queue_id
