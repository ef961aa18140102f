{#- One row per user, team and role: `member` for each of the user's `teams`,
    `supervisor` for each of its `supervised_teams` (teams have no endpoint of their
    own: they exist as these lists). -#}
{%- set roles = [['teams_json', 'member'], ['supervised_teams_json', 'supervisor']] -%}
with elements as (
    {%- for column, role in roles %}
    {{ dbt_voiso.voiso_json_array_rows("user_id, '" ~ role ~ "' as role", column, 'team_json', ref('stg_voiso__users')) }}
    {{ 'union all' if not loop.last }}
    {%- endfor %}
)

select
    user_id,
    {{ dbt_voiso.voiso_json_text('team_json', 'id') }} as team_id,
    max({{ dbt_voiso.voiso_json_text('team_json', 'name') }}) as team_name,
    role
from elements
where {{ dbt_voiso.voiso_json_text('team_json', 'id') }} is not null
group by user_id, {{ dbt_voiso.voiso_json_text('team_json', 'id') }}, role
