{#- One row per agent: every directory user, and every CDR agent (a distinct CDR
    `user.id`) not matched to one. A CDR agent matches the user with its id, else the
    user with its e-mail (case-insensitive; of several such users, the smallest id).
    Several CDR agents may match one user (one row each); a user no CDR names has
    `cdr_user_id` NULL. -#}
{#- Each CDR agent's name and e-mail are those of its latest CDR (by start, then id).
    Materialized: read five times below, it would otherwise be computed (over every
    CDR) five times. -#}
with cdr_agents as {{ dbt_voiso.voiso_materialized() }} (
    select
        user_id as cdr_user_id,
        user_name as cdr_name,
        user_email as cdr_email,
        lower(trim(user_email)) as cdr_email_normalized,
        key_rows as cdrs
    from ({{ dbt_voiso.voiso_latest_per(ref('stg_voiso__cdrs'), 'user_id', 'cdr_id', ['user_name', 'user_email']) }}) as latest
),

users as (
    select * from {{ ref('stg_voiso__users') }}
),

by_email as (
    select
        cdr_agents.cdr_user_id,
        min(users.user_id) as user_id
    from cdr_agents
    inner join users on users.email_normalized = cdr_agents.cdr_email_normalized
    where cdr_agents.cdr_user_id not in (select user_id from users)
    group by cdr_agents.cdr_user_id
),

matches as (
    select cdr_user_id, cdr_user_id as user_id, 'id' as matched_by
    from cdr_agents
    where cdr_user_id in (select user_id from users)
    union all
    select cdr_user_id, user_id, 'email' as matched_by
    from by_email
),

matched as (
    select
        users.user_id,
        matches.cdr_user_id,
        matches.matched_by
    from users
    left join matches on matches.user_id = users.user_id
    union all
    select
        cast(null as {{ dbt.type_string() }}) as user_id,
        cdr_agents.cdr_user_id,
        cast(null as {{ dbt.type_string() }}) as matched_by
    from cdr_agents
    where cdr_agents.cdr_user_id not in (select cdr_user_id from matches)
)

select
    matched.user_id,
    matched.cdr_user_id,
    coalesce(users.name, cdr_agents.cdr_name) as name,
    coalesce(users.email, cdr_agents.cdr_email) as email,
    users.timezone,
    matched.matched_by,
    users.security_access_group_name as security_access_group,
    users.employee_id,
    users.extension,
    cdr_agents.cdr_name,
    cdr_agents.cdr_email,
    coalesce(cdr_agents.cdrs, 0) as cdrs
from matched
left join users on users.user_id = matched.user_id
left join cdr_agents on cdr_agents.cdr_user_id = matched.cdr_user_id
