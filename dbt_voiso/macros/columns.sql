{#- Columns every contact (call, conversation) carries: its queue, its agent, its times. -#}
{% macro voiso_contact_columns() -%}
    {{ dbt_voiso.voiso_json_text('data_json', 'queue.id') }} as queue_id,
    {{ dbt_voiso.voiso_json_text('data_json', 'queue.name') }} as queue_name,
    user_id as agent_id,
    user_name as agent_name,
    started_at,
    ended_at,
    started_at_local,
    local_date,
    local_hour,
    interval_start_utc,
    interval_start_local,
    has_transfer_tag
{%- endmacro %}

{#- `data.durations.<name>` as `<name>_seconds` for each name, 0 when absent. -#}
{% macro voiso_duration_columns(names) -%}
  {%- for name in names %}
    coalesce({{ dbt_voiso.voiso_json_number('data_json', 'durations.' ~ name) }}, 0) as {{ name }}_seconds{{ ',' if not loop.last }}
  {%- endfor %}
{%- endmacro %}

{#- A column of a table the loader wrote, quoted (a name such as `user` or `from` is a
    keyword) as the loader spells it: target-snowflake upper-cases its columns, and
    Snowflake matches a quoted name case-sensitively. -#}
{% macro voiso_source_column(name) -%}
  {{ return(adapter.dispatch('voiso_source_column', 'dbt_voiso')(name)) }}
{%- endmacro %}

{% macro default__voiso_source_column(name) -%}{{ adapter.quote(name) }}{%- endmacro %}

{% macro snowflake__voiso_source_column(name) -%}{{ adapter.quote(name | upper) }}{%- endmacro %}
