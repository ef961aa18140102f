{#- One row per directory user, team and role: `member` of the user's `teams`,
    `supervisor` of its `supervised_teams`. -#}
select
    user_teams.user_id,
    users.name,
    users.email,
    user_teams.team_id,
    user_teams.team_name,
    user_teams.role
from {{ ref('stg_voiso__user_teams') }} as user_teams
inner join {{ ref('stg_voiso__users') }} as users on users.user_id = user_teams.user_id
