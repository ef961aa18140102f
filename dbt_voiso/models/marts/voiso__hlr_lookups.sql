{#- One row per HLR lookup (a check whether a phone number is reachable). -#}
{{ dbt_voiso.voiso_incremental_config('hlr_lookup_id') }}
select
    cdr_id as hlr_lookup_id,
    disposition,
    user_id as agent_id,
    started_at,
    ended_at,
    local_date,
    {{ dbt_voiso.voiso_json_boolean('data_json', 'reachable') }} as is_reachable,
    {{ dbt_voiso.voiso_json_boolean('data_json', 'roaming') }} as is_roaming,
    {{ dbt_voiso.voiso_json_text('data_json', 'related_call.id') }} as related_call_id,
    to_phone_number as phone_number,
    cost,
    loaded_at,
    {{ dbt_voiso.voiso_built_at() }} as dbt_built_at
from {{ ref('stg_voiso__cdrs') }}
where cdr_type = 'hlr_lookup' and {{ dbt_voiso.voiso_built_since_last_build('dbt_built_at') }}
