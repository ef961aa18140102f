{#- A timestamp the targets land in UTC (without time zone), as wall-clock time in
    `voiso_timezone`: what the contact center calls that moment. -#}
{% macro voiso_local_timestamp(column) -%}
  {{ return(adapter.dispatch('voiso_local_timestamp', 'dbt_voiso')(column, var('voiso_timezone', 'UTC'))) }}
{%- endmacro %}

{% macro duckdb__voiso_local_timestamp(column, tz) -%}
  timezone('{{ tz }}', timezone('UTC', {{ column }}))
{%- endmacro %}

{% macro postgres__voiso_local_timestamp(column, tz) -%}
  (({{ column }}) at time zone 'UTC') at time zone '{{ tz }}'
{%- endmacro %}

{% macro default__voiso_local_timestamp(column, tz) -%}
  {{ exceptions.raise_compiler_error(
      "dbt_voiso converts time zones on duckdb and postgres only, not on " ~ target.type) }}
{%- endmacro %}
