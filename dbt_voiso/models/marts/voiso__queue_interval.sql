{#- One row per interval (`voiso_interval_minutes`, by its UTC start), queue, channel
    (call, conversation) and direction, over the contacts that went through a queue; a
    contact counts in the interval of its start in `voiso_timezone`. `required_agents`
    is Erlang C's, computed in SQL (see voiso_erlang_c_required_agents); the answer and
    abandon curves' counts and the wait percentiles are here so that a dashboard only
    adds up and reads. -#}
{{ dbt_voiso.voiso_incremental_grain_config('interval_start_utc') }}
{%- set interval_seconds = (var('voiso_interval_minutes', 15) | int) * 60 -%}
{{ dbt_voiso.voiso_with_recursive() }} contacts as (
    {{ dbt_voiso.voiso_queue_contacts(dbt_voiso.voiso_grain_rebuilt('interval_start_utc', [ref('voiso__calls'), ref('voiso__conversations')])) }}
),

intervals as (
    select
        interval_start_utc,
        queue_id,
        channel,
        direction,
        max(interval_start_local) as interval_start_local,
        max(queue_name) as queue_name,
        count(*) as offered,
        count(case when is_handled then 1 end) as handled,
        count(case when is_abandoned then 1 end) as abandoned,
        count(case when is_short_abandoned then 1 end) as short_abandoned,
        count(case when is_handled_within_service_level then 1 end) as answered_within_service_level,
        avg(case when is_handled then queue_seconds end) as average_speed_of_answer_seconds,
        avg(case when is_abandoned then queue_seconds end) as average_abandon_time_seconds,
        avg(case when is_handled then handle_seconds end) as average_handle_time_seconds,
        coalesce(sum(case when is_handled then handle_seconds end), 0) as handled_handle_seconds,
        count(case when is_transferred_out then 1 end) as transferred_out,
        count(case when is_agent_hung_up_first then 1 end) as agent_hung_up_first,
        {%- for seconds in dbt_voiso.voiso_curve_seconds() %}
        count(case when is_handled and queue_seconds <= {{ seconds }} then 1 end) as handled_within_{{ seconds }}_seconds,
        count(case when is_abandoned and queue_seconds <= {{ seconds }} then 1 end) as abandoned_within_{{ seconds }}_seconds,
        {%- endfor %}
        {{ dbt_voiso.voiso_percentile('queue_seconds', 0.5) }} as median_wait_seconds,
        {{ dbt_voiso.voiso_percentile('queue_seconds', 0.9) }} as p90_wait_seconds,
        max(queue_seconds) as longest_wait_seconds,
        count(distinct case when is_handled then agent_id end) as agents_handling
    from contacts
    group by interval_start_utc, queue_id, channel, direction
),

{{ dbt_voiso.voiso_erlang_c_ctes('intervals', ['interval_start_utc', 'queue_id', 'channel', 'direction'], interval_seconds) }}

select
    intervals.interval_start_utc,
    intervals.interval_start_local,
    intervals.queue_id,
    intervals.queue_name,
    intervals.channel,
    intervals.direction,
    intervals.offered,
    intervals.handled,
    intervals.abandoned,
    intervals.short_abandoned,
    intervals.answered_within_service_level,
    {{ dbt_voiso.voiso_ratio('intervals.answered_within_service_level', 'intervals.offered - intervals.short_abandoned') }} as service_level,
    {{ dbt_voiso.voiso_ratio('intervals.abandoned - intervals.short_abandoned', 'intervals.offered - intervals.short_abandoned') }} as abandonment_rate,
    intervals.average_speed_of_answer_seconds,
    intervals.average_abandon_time_seconds,
    intervals.average_handle_time_seconds,
    intervals.transferred_out,
    intervals.agent_hung_up_first,
    {%- for seconds in dbt_voiso.voiso_curve_seconds() %}
    intervals.handled_within_{{ seconds }}_seconds,
    intervals.abandoned_within_{{ seconds }}_seconds,
    {%- endfor %}
    intervals.median_wait_seconds,
    intervals.p90_wait_seconds,
    intervals.longest_wait_seconds,
    intervals.handled_handle_seconds / {{ interval_seconds }}.0 as traffic_erlangs,
    staffing.required_agents,
    intervals.agents_handling,
    {{ dbt_voiso.voiso_built_at() }} as dbt_built_at
from intervals
left join staffing
    on intervals.interval_start_utc = staffing.interval_start_utc
    and intervals.queue_id = staffing.queue_id
    and intervals.channel = staffing.channel
    and intervals.direction = staffing.direction
