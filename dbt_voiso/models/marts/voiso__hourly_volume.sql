{#- Contacts per local hour, CDR type and direction (subtype), for staffing. -#}
{{ dbt_voiso.voiso_incremental_grain_config('local_date') }}
select
    local_date,
    local_hour,
    cdr_type,
    subtype as direction,
    count(*) as contacts,
    {{ dbt_voiso.voiso_built_at() }} as dbt_built_at
from {{ ref('stg_voiso__cdrs') }}
where cdr_type in ('call', 'conversation', 'sms', 'hlr_lookup')
    and {{ dbt_voiso.voiso_grain_rebuilt('local_date', [ref('stg_voiso__cdrs')]) }}
group by local_date, local_hour, cdr_type, subtype
