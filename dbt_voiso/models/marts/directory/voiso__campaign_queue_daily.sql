{#- One row per local day, dialer campaign and queue (NULL: none) the campaign's calls
    went through: `voiso__campaign_daily`'s counts split by queue (its name, too), so
    that a view filtered to a queue adds up its campaigns' own calls. -#}
with queues as (
    select
        local_date,
        campaign_id,
        queue_id,
        max(queue_name) as queue_name,
        count(*) as dial_attempts,
        count(case when is_answered then 1 end) as connected,
        count(case when is_abandoned then 1 end) as abandoned
    from {{ ref('voiso__calls') }}
    where campaign_id is not null
    group by local_date, campaign_id, queue_id
)

select
    queues.local_date,
    queues.campaign_id,
    daily.campaign_name,
    queues.queue_id,
    queues.queue_name,
    queues.dial_attempts,
    queues.connected,
    {{ dbt_voiso.voiso_ratio('queues.connected', 'queues.dial_attempts') }} as connect_rate,
    queues.abandoned,
    {{ dbt_voiso.voiso_ratio('queues.abandoned', 'queues.connected') }} as abandon_rate
from queues
inner join {{ ref('voiso__campaign_daily') }} as daily
    on daily.local_date = queues.local_date and daily.campaign_id = queues.campaign_id
