{#- One row per CDR id: where a target appended several versions of a CDR (re-read
    through the tap's lookback, or an overlapping end_date), the latest one wins. -#}
{{ dbt_voiso.voiso_incremental_config('cdr_id') }}
{%- set source_relation = source('voiso', 'cdrs') -%}
{%- set present = [] -%}
{%- if execute -%}
  {%- for column in adapter.get_columns_in_relation(source_relation) -%}
    {%- do present.append(column.name | lower) -%}
  {%- endfor -%}
{%- endif -%}
{%- set newest_first = [] -%}
{%- for column in ['_sdc_batched_at', '_sdc_extracted_at', '_sdc_sequence'] if column in present -%}
  {%- do newest_first.append(column ~ ' desc nulls last') -%}
{%- endfor -%}
{%- do newest_first.append('case when ended_at is null then 1 else 0 end') -%}
{%- set loaded = '_sdc_batched_at' if '_sdc_batched_at' in present else 'null' -%}
{%- do newest_first.append('ended_at desc') -%}
{%- set changed_ids -%}
    select cast(id as {{ dbt.type_string() }})
    from {{ source_relation }}
    where {{ dbt_voiso.voiso_changed_since_last_build(
        'cast(started_at as ' ~ dbt.type_timestamp() ~ ')',
        'cast(ended_at as ' ~ dbt.type_timestamp() ~ ')',
        'cast(' ~ loaded ~ ' as ' ~ dbt.type_timestamp() ~ ')') }}
{%- endset -%}
{%- set earliest = none -%}
{%- if is_incremental() -%}
  {%- do dbt_voiso.voiso_require_built_at() -%}
  {%- set earliest = dbt_voiso.voiso_min_literal(
      '(select cast(started_at as ' ~ dbt.type_timestamp() ~ ') as started_at from ' ~ source_relation
      ~ ' where cast(id as ' ~ dbt.type_string() ~ ') in (' ~ changed_ids ~ ')) as changed', 'started_at') -%}
{%- endif %}

with versions as (
    select
        cast(id as {{ dbt.type_string() }}) as cdr_id,
        type as cdr_type,
        subtype,
        disposition,
        cast(started_at as {{ dbt.type_timestamp() }}) as started_at,
        cast(ended_at as {{ dbt.type_timestamp() }}) as ended_at,
        cast(cost as {{ dbt_voiso.voiso_type_double() }}) as cost,
        {{ dbt_voiso.voiso_landed_json(dbt_voiso.voiso_source_column('user')) }} as user_json,
        {{ dbt_voiso.voiso_landed_json(dbt_voiso.voiso_source_column('from')) }} as from_json,
        {{ dbt_voiso.voiso_landed_json(dbt_voiso.voiso_source_column('to')) }} as to_json,
        {{ dbt_voiso.voiso_landed_json(dbt_voiso.voiso_source_column('data')) }} as data_json,
        tags,
        cast({{ loaded }} as {{ dbt.type_timestamp() }}) as loaded_at,
        row_number() over (
            partition by cast(id as {{ dbt.type_string() }})
            order by {{ newest_first | join(', ') }}
        ) as version_rank
    from {{ source_relation }}
    {%- if is_incremental() %}
    where {{ dbt_voiso.voiso_cdrs_to_build_again(source_relation, changed_ids, earliest) }}
    {%- endif %}
),

latest as (
    select
        *,
        {{ dbt_voiso.voiso_local_timestamp('started_at') }} as started_at_local
    from versions
    where version_rank = 1
)

select
    cdr_id,
    cdr_type,
    subtype,
    disposition,
    started_at,
    ended_at,
    started_at_local,
    cast(started_at_local as date) as local_date,
    cast(extract(hour from started_at_local) as integer) as local_hour,
    {{ dbt_voiso.voiso_interval_start_utc('started_at', 'started_at_local') }} as interval_start_utc,
    {{ dbt_voiso.voiso_interval_start_local('started_at_local') }} as interval_start_local,
    cost,
    {{ dbt_voiso.voiso_json_text('user_json', 'id') }} as user_id,
    {{ dbt_voiso.voiso_json_text('user_json', 'name') }} as user_name,
    {{ dbt_voiso.voiso_json_text('user_json', 'name_snapshot') }} as user_name_snapshot,
    {{ dbt_voiso.voiso_json_text('user_json', 'email') }} as user_email,
    {{ dbt_voiso.voiso_json_boolean('user_json', 'deleted') }} as user_deleted,
    {{ dbt_voiso.voiso_json_text('from_json', 'type') }} as from_type,
    {{ dbt_voiso.voiso_json_text('from_json', 'phone_number') }} as from_phone_number,
    {{ dbt_voiso.voiso_json_text('from_json', 'channel_account.identifier') }} as from_channel_identifier,
    {{ dbt_voiso.voiso_json_text('to_json', 'type') }} as to_type,
    {{ dbt_voiso.voiso_json_text('to_json', 'phone_number') }} as to_phone_number,
    {{ dbt_voiso.voiso_json_text('to_json', 'channel_account.identifier') }} as to_channel_identifier,
    {{ dbt_voiso.voiso_has_any('tags', var('voiso_transfer_tags', ['transfer', 'blind_transfer', 'warm_transfer'])) }} as has_transfer_tag,
    data_json,
    loaded_at,
    {{ dbt_voiso.voiso_built_at() }} as dbt_built_at
from latest
