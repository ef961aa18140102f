{#- One row per interval (`voiso_interval_minutes`, by its UTC start) and agent, over
    the contacts (calls, conversations) the agent handled that started in it. -#}
{{ dbt_voiso.voiso_incremental_grain_config('interval_start_utc') }}
{%- set interval_seconds = (var('voiso_interval_minutes', 15) | int) * 60 -%}
{%- set rebuilt = dbt_voiso.voiso_grain_rebuilt('interval_start_utc', [ref('voiso__calls'), ref('voiso__conversations')]) -%}
with contacts as (
    select
        interval_start_utc, interval_start_local, agent_id, agent_name,
        talk_seconds, hold_seconds, handle_seconds, is_transferred_out, is_agent_hung_up_first
    from {{ ref('voiso__calls') }}
    where agent_id is not null and is_answered and {{ rebuilt }}
    union all
    select
        interval_start_utc, interval_start_local, agent_id, agent_name,
        talk_seconds, 0 as hold_seconds, handle_seconds, is_transferred_out, false
    from {{ ref('voiso__conversations') }}
    where agent_id is not null and is_handled and {{ rebuilt }}
)

select
    interval_start_utc,
    max(interval_start_local) as interval_start_local,
    {{ dbt_voiso.voiso_agent_handled_figures() }},
    count(case when is_agent_hung_up_first then 1 end) as agent_hung_up_first,
    sum(handle_seconds) / {{ interval_seconds }}.0 as busy_share,
    {{ dbt_voiso.voiso_built_at() }} as dbt_built_at
from contacts
group by interval_start_utc, agent_id
