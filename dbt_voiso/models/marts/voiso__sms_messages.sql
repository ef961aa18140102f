{#- One row per SMS. -#}
{{ dbt_voiso.voiso_incremental_config('sms_id') }}
select
    cdr_id as sms_id,
    subtype as direction,
    disposition,
    user_id as agent_id,
    user_name as agent_name,
    started_at,
    ended_at,
    local_date,
    {{ dbt_voiso.voiso_json_boolean('data_json', 'sent') }} as is_sent,
    cast({{ dbt_voiso.voiso_json_number('data_json', 'segments_count') }} as integer) as segments_count,
    {{ dbt_voiso.voiso_json_text('data_json', 'message') }} as message,
    {{ dbt_voiso.voiso_json_text('data_json', 'canned_message.id') }} as canned_message_id,
    {{ dbt_voiso.voiso_json_text('data_json', 'canned_message.name') }} as canned_message_name,
    {{ dbt_voiso.voiso_json_text('data_json', 'related_call.id') }} as related_call_id,
    from_phone_number,
    to_phone_number,
    cost,
    loaded_at,
    {{ dbt_voiso.voiso_built_at() }} as dbt_built_at
from {{ ref('stg_voiso__cdrs') }}
where cdr_type = 'sms' and {{ dbt_voiso.voiso_built_since_last_build('dbt_built_at') }}
