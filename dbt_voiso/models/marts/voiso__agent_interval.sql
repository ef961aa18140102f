{#- One row per interval (`voiso_interval_minutes`, by its UTC start) and agent, over
    the contacts (calls, conversations) the agent handled that started in it. -#}
{%- set interval_seconds = (var('voiso_interval_minutes', 15) | int) * 60 -%}
with contacts as (
    select
        interval_start_utc, interval_start_local, agent_id, agent_name,
        talk_seconds, hold_seconds, handle_seconds, is_transferred_out, is_agent_hung_up_first
    from {{ ref('voiso__calls') }}
    where agent_id is not null and is_answered
    union all
    select
        interval_start_utc, interval_start_local, agent_id, agent_name,
        talk_seconds, 0 as hold_seconds, handle_seconds, is_transferred_out, false
    from {{ ref('voiso__conversations') }}
    where agent_id is not null and is_handled
)

select
    interval_start_utc,
    max(interval_start_local) as interval_start_local,
    agent_id,
    max(agent_name) as agent_name,
    count(*) as handled,
    sum(talk_seconds) as talk_seconds,
    sum(hold_seconds) as hold_seconds,
    sum(handle_seconds) as handle_seconds,
    count(case when is_transferred_out then 1 end) as transferred_out,
    count(case when is_agent_hung_up_first then 1 end) as agent_hung_up_first,
    sum(handle_seconds) / {{ interval_seconds }}.0 as busy_share
from contacts
group by interval_start_utc, agent_id
