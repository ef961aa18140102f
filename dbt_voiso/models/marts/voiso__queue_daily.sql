{#- One row per local day, queue and direction, for calls that went through a queue.
    Rates are shares of offered calls; speed of answer and handle time average over
    answered calls. -#}
select
    local_date,
    queue_id,
    max(queue_name) as queue_name,
    direction,
    count(*) as offered,
    count(case when is_answered then 1 end) as answered,
    count(case when is_abandoned then 1 end) as abandoned,
    count(case when is_answered_within_service_level then 1 end) as answered_within_service_level,
    {{ dbt_voiso.voiso_ratio('count(case when is_answered then 1 end)', 'count(*)') }} as answer_rate,
    {{ dbt_voiso.voiso_ratio('count(case when is_abandoned then 1 end)', 'count(*)') }} as abandonment_rate,
    {{ dbt_voiso.voiso_ratio('count(case when is_answered_within_service_level then 1 end)', 'count(*)') }} as service_level,
    avg(case when is_answered then queue_seconds end) as average_speed_of_answer_seconds,
    avg(case when is_answered then handle_seconds end) as average_handle_time_seconds,
    sum(talk_seconds) as talk_seconds,
    sum(hold_seconds) as hold_seconds,
    coalesce(sum(cost), 0) as cost
from {{ ref('voiso__calls') }}
where queue_id is not null
group by local_date, queue_id, direction
