{#- Calls and conversations that went through a queue, as one kind of contact: the
    columns the queue models count. A conversation's direction is `inbound` (the CDR
    has none: a customer writes in), its handle time its talk time. Only those meeting
    `condition` (SQL on their columns). -#}
{% macro voiso_queue_contacts(condition='1 = 1') -%}
    select
        'call' as channel,
        direction,
        queue_id,
        queue_name,
        agent_id,
        interval_start_utc,
        interval_start_local,
        is_answered as is_handled,
        is_abandoned,
        is_short_abandoned,
        is_answered_within_service_level as is_handled_within_service_level,
        queue_seconds,
        handle_seconds,
        is_transferred_out,
        is_agent_hung_up_first
    from {{ ref('voiso__calls') }}
    where queue_id is not null and {{ condition }}
    union all
    select
        'conversation' as channel,
        'inbound' as direction,
        queue_id,
        queue_name,
        agent_id,
        interval_start_utc,
        interval_start_local,
        is_handled,
        is_abandoned,
        is_short_abandoned,
        is_handled_within_service_level,
        queue_seconds,
        handle_seconds,
        is_transferred_out,
        false as is_agent_hung_up_first
    from {{ ref('voiso__conversations') }}
    where queue_id is not null and {{ condition }}
{%- endmacro %}


{#- The queue times (seconds) the answer and abandon curves count within: Amazon
    Connect's "contacts answered / abandoned in X seconds". Fixed, as they name columns. -#}
{% macro voiso_curve_seconds() -%}
  {{ return([10, 20, 30, 60, 120, 300]) }}
{%- endmacro %}

{#- The agent, and what the agent models add up over the contacts it handled (columns
    agent_id, agent_name, talk, hold and handle seconds, is_transferred_out). -#}
{% macro voiso_agent_handled_figures() -%}
    agent_id,
    max(agent_name) as agent_name,
    count(*) as handled,
    sum(talk_seconds) as talk_seconds,
    sum(hold_seconds) as hold_seconds,
    sum(handle_seconds) as handle_seconds,
    count(case when is_transferred_out then 1 end) as transferred_out
{%- endmacro %}
