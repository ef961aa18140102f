{#- Contacts per local hour, CDR type and direction (subtype), for staffing. -#}
select
    local_date,
    local_hour,
    cdr_type,
    subtype as direction,
    count(*) as contacts
from {{ ref('stg_voiso__cdrs') }}
where cdr_type in ('call', 'conversation', 'sms', 'hlr_lookup')
group by local_date, local_hour, cdr_type, subtype
