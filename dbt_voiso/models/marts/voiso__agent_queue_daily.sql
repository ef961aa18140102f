{#- One row per local day, agent and queue (NULL: none), over the contacts the agent
    handled (answered calls, handled conversations): the agent table a team lead reads
    for one queue or all, with its repeat contacts (see voiso_repeat_calls). Incremental
    by day: the days rebuilt contacts fall in, and those of the answered inbound calls a
    rebuilt call makes repeat contacts. -#}
{{ dbt_voiso.voiso_incremental_grain_config('local_date') }}
{%- set rebuilt = dbt_voiso.voiso_grain_rebuilt('local_date', [ref('voiso__calls'), ref('voiso__conversations')], dbt_voiso.voiso_repeat_periods(dbt_voiso.voiso_period_day)) -%}
with calls as {{ dbt_voiso.voiso_materialized() }} (
    select * from {{ ref('voiso__calls') }}
    where agent_id is not null and is_answered and {{ rebuilt }}
),

repeats as (
    {{ dbt_voiso.voiso_repeat_calls('calls') }}
),

contacts as (
    select
        calls.local_date, calls.agent_id, calls.agent_name, calls.queue_id, calls.queue_name,
        calls.talk_seconds, calls.hold_seconds, calls.handle_seconds, calls.is_transferred_out,
        repeats.call_id is not null as is_repeat_contact
    from calls
    left join repeats on repeats.call_id = calls.call_id
    union all
    select
        local_date, agent_id, agent_name, queue_id, queue_name,
        talk_seconds, 0 as hold_seconds, handle_seconds, is_transferred_out,
        false as is_repeat_contact
    from {{ ref('voiso__conversations') }}
    where agent_id is not null and is_handled and {{ rebuilt }}
)

select
    local_date,
    queue_id,
    max(queue_name) as queue_name,
    {{ dbt_voiso.voiso_agent_handled_figures() }},
    count(case when is_repeat_contact then 1 end) as repeat_contacts,
    {{ dbt_voiso.voiso_built_at() }} as dbt_built_at
from contacts
group by local_date, agent_id, queue_id
