{#- Read a value out of a JSON column by a dotted path ('durations.talk'), as text.
    Each warehouse spells it differently; JSON null and a missing key both give NULL. -#}
{% macro voiso_json_text(column, path) -%}
  {{ return(adapter.dispatch('voiso_json_text', 'dbt_voiso')(column, path)) }}
{%- endmacro %}

{% macro duckdb__voiso_json_text(column, path) -%}
  json_extract_string({{ column }}, '$.{{ path }}')
{%- endmacro %}

{% macro postgres__voiso_json_text(column, path) -%}
  (cast({{ column }} as jsonb) #>> '{ {{- path.split('.') | join(',') -}} }')
{%- endmacro %}

{#- target-snowflake lands objects as VARIANT: a string element cast to text loses its
    quotes, and a JSON null cast to text is SQL NULL. -#}
{% macro snowflake__voiso_json_text(column, path) -%}
  cast(get_path({{ column }}, '{{ path }}') as varchar)
{%- endmacro %}

{#- target-bigquery lands objects as JSON: JSON_VALUE gives a scalar as text, NULL for
    JSON null and a missing key. -#}
{% macro bigquery__voiso_json_text(column, path) -%}
  json_value({{ column }}, '$.{{ path }}')
{%- endmacro %}

{#- target-redshift lands objects as SUPER: serialized, read by path (an empty string
    is Redshift's answer for a missing key). -#}
{% macro redshift__voiso_json_text(column, path) -%}
  nullif(json_extract_path_text(json_serialize({{ column }}), '{{ path.split('.') | join("', '") }}'), '')
{%- endmacro %}

{#- Spark: the column holds JSON text (see voiso_landed_json). -#}
{% macro spark__voiso_json_text(column, path) -%}
  get_json_object({{ column }}, '$.{{ path }}')
{%- endmacro %}

{% macro default__voiso_json_text(column, path) -%}
  {{ exceptions.raise_compiler_error(
      "dbt_voiso reads JSON on duckdb, postgres, snowflake, spark, bigquery and redshift only, not on "
      ~ target.type) }}
{%- endmacro %}

{#- A landed object column (`data`, `user`, `from`, `to`) as the JSON value the path
    macros read: as it is where the loader lands JSON (DuckDB JSON, PostgreSQL jsonb);
    on Spark, whose JSON reader loads an object as a struct, its JSON text (`to_json`
    writes each number as the shortest text that reads back as the same double, and
    leaves out null fields, which read NULL as missing ones do). -#}
{% macro voiso_landed_json(column) -%}
  {{ return(adapter.dispatch('voiso_landed_json', 'dbt_voiso')(column)) }}
{%- endmacro %}

{% macro default__voiso_landed_json(column) -%}{{ column }}{%- endmacro %}

{% macro spark__voiso_landed_json(column) -%}to_json({{ column }}){%- endmacro %}

{#- A JSON number as a double. -#}
{% macro voiso_json_number(column, path) -%}
  cast({{ dbt_voiso.voiso_json_text(column, path) }} as {{ dbt_voiso.voiso_type_double() }})
{%- endmacro %}

{#- A JSON boolean as a boolean. -#}
{% macro voiso_json_boolean(column, path) -%}
  cast({{ dbt_voiso.voiso_json_text(column, path) }} as boolean)
{%- endmacro %}
