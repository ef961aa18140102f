{#- One row per local day and agent (the CDR's user), over the agent's calls and
    conversations. Handle time averages over answered calls. -#}
{{ dbt_voiso.voiso_incremental_grain_config('local_date') }}
{%- set slas = ['first_response', 'resolution', 'avg_reply'] -%}
{%- set rebuilt = dbt_voiso.voiso_grain_rebuilt('local_date', [ref('voiso__calls'), ref('voiso__conversations')]) -%}
with calls as (
    select
        local_date,
        agent_id,
        max(agent_name) as agent_name,
        count(*) as calls,
        count(case when is_answered then 1 end) as answered_calls,
        sum(talk_seconds) as talk_seconds,
        sum(hold_seconds) as hold_seconds,
        sum(case when is_answered then handle_seconds else 0 end) as answered_handle_seconds,
        sum(mos) as mos_sum,
        count(mos) as mos_count,
        sum(conversation_score) as score_sum,
        count(conversation_score) as score_count,
        coalesce(sum(cost), 0) as cost
    from {{ ref('voiso__calls') }}
    where agent_id is not null and {{ rebuilt }}
    group by local_date, agent_id
),

conversations as (
    select
        local_date,
        agent_id,
        max(agent_name) as agent_name,
        count(*) as conversations,
        {%- for sla in slas %}
        count(case when {{ sla }}_sla_breached then 1 end){{ ' +' if not loop.last }}
        {%- endfor %} as sla_breaches,
        coalesce(sum(cost), 0) as cost
    from {{ ref('voiso__conversations') }}
    where agent_id is not null and {{ rebuilt }}
    group by local_date, agent_id
)

select
    coalesce(calls.local_date, conversations.local_date) as local_date,
    coalesce(calls.agent_id, conversations.agent_id) as agent_id,
    coalesce(calls.agent_name, conversations.agent_name) as agent_name,
    coalesce(calls.calls, 0) as calls,
    coalesce(calls.answered_calls, 0) as answered_calls,
    coalesce(conversations.conversations, 0) as conversations,
    coalesce(calls.talk_seconds, 0) as talk_seconds,
    coalesce(calls.hold_seconds, 0) as hold_seconds,
    {{ dbt_voiso.voiso_ratio('calls.answered_handle_seconds', 'calls.answered_calls') }} as average_handle_time_seconds,
    {{ dbt_voiso.voiso_ratio('calls.mos_sum', 'calls.mos_count') }} as average_mos,
    {{ dbt_voiso.voiso_ratio('calls.score_sum', 'calls.score_count') }} as average_conversation_score,
    coalesce(conversations.sla_breaches, 0) as sla_breaches,
    coalesce(calls.cost, 0) + coalesce(conversations.cost, 0) as cost,
    {{ dbt_voiso.voiso_built_at() }} as dbt_built_at
from calls
full outer join conversations
    on calls.local_date = conversations.local_date
    and calls.agent_id = conversations.agent_id
