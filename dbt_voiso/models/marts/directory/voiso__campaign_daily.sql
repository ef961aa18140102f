{#- One row per local day and dialer campaign, over the calls of the campaign. Name,
    status and strategy from `campaigns` when it holds the campaign; else the name
    of the campaign's latest call. -#}
with calls as (
    select * from {{ ref('voiso__calls') }} where campaign_id is not null
),

snapshots as (
    {{ dbt_voiso.voiso_latest_per('calls', 'campaign_id', 'call_id', ['campaign_name']) }}
),

daily as (
    select
        local_date,
        campaign_id,
        count(*) as dial_attempts,
        count(case when is_answered then 1 end) as connected,
        count(case when is_abandoned then 1 end) as abandoned,
        avg(case when is_answered then handle_seconds end) as average_handle_time_seconds,
        sum(talk_seconds) as talk_seconds,
        coalesce(sum(cost), 0) as cost
    from calls
    group by local_date, campaign_id
)

select
    daily.local_date,
    daily.campaign_id,
    coalesce(campaigns.campaign_name, snapshots.campaign_name) as campaign_name,
    campaigns.campaign_status,
    campaigns.strategy,
    daily.dial_attempts,
    daily.connected,
    {{ dbt_voiso.voiso_ratio('daily.connected', 'daily.dial_attempts') }} as connect_rate,
    daily.abandoned,
    {{ dbt_voiso.voiso_ratio('daily.abandoned', 'daily.connected') }} as abandon_rate,
    daily.average_handle_time_seconds,
    daily.talk_seconds,
    daily.cost
from daily
inner join snapshots on snapshots.campaign_id = daily.campaign_id
left join {{ ref('stg_voiso__campaigns') }} as campaigns on campaigns.campaign_id = daily.campaign_id
