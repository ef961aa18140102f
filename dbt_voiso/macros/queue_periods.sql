{#- The queue KPIs of calls that went through a queue, one row per period, queue and
    direction: `column` names the period, `period` (a macro taking a local-date
    expression) finds it (the day itself, or the Monday of its week). Incremental by
    period: the periods of the calls rebuilt, and those of the answered inbound calls a
    rebuilt call may make repeat contacts (counted in the first call's period). -#}
{% macro voiso_queue_periods(column, period) -%}
{%- set repeated_days = dbt_voiso.voiso_repeat_periods(period) -%}
with calls as {{ dbt_voiso.voiso_materialized() }} (
    select * from {{ ref('voiso__calls') }}
    where {{ dbt_voiso.voiso_grain_rebuilt(period('local_date'), [ref('voiso__calls')], repeated_days) }}
),

repeats as (
    {{ dbt_voiso.voiso_repeat_calls('calls') }}
),

periods as (
    select
        {{ period('calls.local_date') }} as {{ column }},
        calls.queue_id,
        max(calls.queue_name) as queue_name,
        calls.direction,
        count(*) as offered,
        count(case when calls.is_answered then 1 end) as answered,
        count(case when calls.is_abandoned then 1 end) as abandoned,
        count(case when calls.is_short_abandoned then 1 end) as short_abandoned,
        count(case when calls.is_answered_within_service_level then 1 end) as answered_within_service_level,
        avg(case when calls.is_answered then calls.queue_seconds end) as average_speed_of_answer_seconds,
        avg(case when calls.is_abandoned then calls.queue_seconds end) as average_abandon_time_seconds,
        avg(case when calls.is_answered then calls.handle_seconds end) as average_handle_time_seconds,
        count(case when calls.is_transferred_out then 1 end) as transferred_out,
        count(case when calls.is_agent_hung_up_first then 1 end) as agent_hung_up_first,
        count(repeats.call_id) as repeat_contacts,
        sum(calls.talk_seconds) as talk_seconds,
        sum(calls.hold_seconds) as hold_seconds,
        coalesce(sum(calls.cost), 0) as cost
    from calls
    left join repeats on repeats.call_id = calls.call_id
    where calls.queue_id is not null
    group by {{ period('calls.local_date') }}, calls.queue_id, calls.direction
)

select
    {{ column }},
    queue_id,
    queue_name,
    direction,
    offered,
    answered,
    abandoned,
    short_abandoned,
    answered_within_service_level,
    {{ dbt_voiso.voiso_ratio('answered', 'offered') }} as answer_rate,
    {{ dbt_voiso.voiso_ratio('abandoned - short_abandoned', 'offered - short_abandoned') }} as abandonment_rate,
    {{ dbt_voiso.voiso_ratio('answered_within_service_level', 'offered - short_abandoned') }} as service_level,
    average_speed_of_answer_seconds,
    average_abandon_time_seconds,
    average_handle_time_seconds,
    transferred_out,
    agent_hung_up_first,
    case when direction = 'inbound' then repeat_contacts end as repeat_contacts,
    case when direction = 'inbound' then 1 - {{ dbt_voiso.voiso_ratio('repeat_contacts', 'answered') }} end as first_contact_resolution_rate,
    talk_seconds,
    hold_seconds,
    cost,
    {{ dbt_voiso.voiso_built_at() }} as dbt_built_at
from periods
{%- endmacro %}

{% macro voiso_period_day(local_date) -%}
  {{ local_date }}
{%- endmacro %}

{#- The Monday of a local date's week (ISO weeks; Snowflake's with its default
    WEEK_START, 0). -#}
{% macro voiso_period_week(local_date) -%}
  {{ return(adapter.dispatch('voiso_period_week', 'dbt_voiso')(local_date)) }}
{%- endmacro %}

{% macro default__voiso_period_week(local_date) -%}
  cast(date_trunc('week', {{ local_date }}) as date)
{%- endmacro %}

{#- The periods (`period` of a local date) holding an answered inbound call that a call
    built since this model's last build makes a repeat contact: an incremental build
    rebuilds them too. -#}
{% macro voiso_repeat_periods(period) -%}
        select {{ period('earlier.local_date') }}
        from {{ ref('voiso__calls') }} as earlier
        inner join {{ ref('voiso__calls') }} as arrived
            on arrived.from_phone_number = earlier.from_phone_number
            and arrived.started_at > earlier.ended_at
            and arrived.started_at <= ({{ dbt_voiso.voiso_dateadd('hour', var('voiso_repeat_window_hours', 24), 'earlier.ended_at') }})
        where earlier.direction = 'inbound' and earlier.is_answered and arrived.direction = 'inbound'
            and {{ dbt_voiso.voiso_built_since_last_build('arrived.dbt_built_at') }}
{%- endmacro %}

{#- The ids of the repeat contacts among `calls` (a relation of voiso__calls' columns): a
    handled inbound call is one when its number calls in again (any queue or none) after
    it ended, within `voiso_repeat_window_hours`. -#}
{% macro voiso_repeat_calls(calls) -%}
    select {{ calls }}.call_id
    from {{ calls }}
    where {{ calls }}.direction = 'inbound'
        and {{ calls }}.is_answered
        and exists (
            select 1
            from {{ ref('voiso__calls') }} as inbound
            where inbound.direction = 'inbound'
                and inbound.from_phone_number = {{ calls }}.from_phone_number
                and inbound.started_at > {{ calls }}.ended_at
                and inbound.started_at <= ({{ dbt_voiso.voiso_dateadd('hour', var('voiso_repeat_window_hours', 24), calls ~ '.ended_at') }})
        )
{%- endmacro %}

{#- BigQuery's `week` starts on Sunday: weeks that start on Monday. -#}
{% macro bigquery__voiso_period_week(local_date) -%}
  cast(date_trunc({{ local_date }}, week(monday)) as date)
{%- endmacro %}
