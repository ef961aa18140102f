{#- Warns when fewer than `voiso_min_agent_match_rate` of the CDR agents match a
    directory user (by id or e-mail): a join that silently drops agents is the bug
    analysts find last. Checked only when the directory holds users (a CDR-only key
    loads none, and then no agent can match). -#}
{{ config(severity='warn') }}

with cdr_agents as (
    select
        count(*) as cdr_agents,
        count(matched_by) as matched_agents
    from {{ ref('voiso__agents') }}
    where cdr_user_id is not null
)

select
    cdr_agents,
    matched_agents,
    {{ dbt_voiso.voiso_ratio('matched_agents', 'cdr_agents') }} as match_rate
from cdr_agents
where cdr_agents > 0
    and matched_agents < {{ var('voiso_min_agent_match_rate', 0.95) }} * cdr_agents
    and exists (select 1 from {{ ref('stg_voiso__users') }})
