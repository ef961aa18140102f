{#- One row per directory user (`users`), the latest version; zero rows when the table
    is empty or absent. -#}
with users as (
    {{ dbt_voiso.voiso_directory_source('users', [
        ['id', 'string'], ['name', 'string'], ['email', 'string'], ['timezone', 'string'],
        ['sip_account', 'string'], ['extension', 'string'], ['caller_id', 'string'],
        ['employee_id', 'string'], ['security_access_group', 'json'], ['teams', 'json'],
        ['supervised_teams', 'json'],
    ], 'id') }}
)

select
    id as user_id,
    name,
    email,
    lower(trim(email)) as email_normalized,
    timezone,
    sip_account,
    extension,
    caller_id,
    employee_id,
    {{ dbt_voiso.voiso_json_text('security_access_group', 'id') }} as security_access_group_id,
    {{ dbt_voiso.voiso_json_text('security_access_group', 'name') }} as security_access_group_name,
    teams as teams_json,
    supervised_teams as supervised_teams_json
from users
where id is not null
