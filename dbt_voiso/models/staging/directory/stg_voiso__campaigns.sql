{#- One row per dialer campaign (`campaigns`), the latest version; zero rows when the
    table is empty or absent. The id is text, as CDRs carry it (`data.campaign.id`). -#}
with campaigns as (
    {{ dbt_voiso.voiso_directory_source('campaigns', [
        ['id', 'string'], ['name', 'string'], ['status', 'string'], ['strategy', 'string'],
        ['dial_level', 'double'], ['created_at', 'timestamp'], ['updated_at', 'timestamp'],
    ], 'id') }}
)

select
    id as campaign_id,
    name as campaign_name,
    status as campaign_status,
    strategy,
    dial_level,
    created_at,
    updated_at
from campaigns
where id is not null
