{#- One row per local day and team, over the calls and conversations of its members:
    a contact counts once for each team its agent is a member of (supervising a team
    does not count). Contacts with no agent, or whose agent is unmatched or in no team,
    fall in the day's row with `team_id` NULL, so a day's rows add up to its contacts
    per team membership. Handle time averages over answered calls. -#}
with contacts as (
    select
        local_date,
        agent_id,
        1 as is_call,
        case when is_answered then 1 else 0 end as is_answered,
        talk_seconds,
        hold_seconds,
        case when is_answered then handle_seconds end as answered_handle_seconds
    from {{ ref('voiso__calls') }}
    union all
    select
        local_date,
        agent_id,
        0 as is_call,
        0 as is_answered,
        0 as talk_seconds,
        0 as hold_seconds,
        null as answered_handle_seconds
    from {{ ref('voiso__conversations') }}
),

agents as (
    select cdr_user_id, user_id
    from {{ ref('voiso__agents') }}
    where cdr_user_id is not null and user_id is not null
),

memberships as (
    select user_id, team_id, team_name
    from {{ ref('voiso__agent_teams') }}
    where role = 'member'
),

contact_teams as (
    select
        contacts.*,
        memberships.team_id,
        memberships.team_name
    from contacts
    left join agents on agents.cdr_user_id = contacts.agent_id
    left join memberships on memberships.user_id = agents.user_id
)

select
    local_date,
    team_id,
    max(team_name) as team_name,
    sum(is_call) as calls,
    sum(is_answered) as answered_calls,
    count(*) - sum(is_call) as conversations,
    count(distinct agent_id) as agents,
    sum(talk_seconds) as talk_seconds,
    sum(hold_seconds) as hold_seconds,
    avg(answered_handle_seconds) as average_handle_time_seconds
from contact_teams
group by local_date, team_id
