{#- Eight-byte floating point (DuckDB's FLOAT has four bytes, PostgreSQL's eight). -#}
{% macro voiso_type_double() -%}
  {{ return(adapter.dispatch('voiso_type_double', 'dbt_voiso')()) }}
{%- endmacro %}

{% macro default__voiso_type_double() -%}double precision{%- endmacro %}

{% macro duckdb__voiso_type_double() -%}double{%- endmacro %}

{#- `column in (...)` for a list var of strings, e.g. the answered dispositions. -#}
{% macro voiso_in_list(column, values) -%}
  {%- if values | length == 0 -%}
    (1 = 0)
  {%- else -%}
    {{ column }} in (
      {%- for value in values -%}
        '{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}
      {%- endfor -%}
    )
  {%- endif -%}
{%- endmacro %}

{#- The median of a column (an aggregate). -#}
{% macro voiso_median(column) -%}
  {{ return(adapter.dispatch('voiso_median', 'dbt_voiso')(column)) }}
{%- endmacro %}

{% macro default__voiso_median(column) -%}
  percentile_cont(0.5) within group (order by {{ column }})
{%- endmacro %}

{% macro duckdb__voiso_median(column) -%}
  median({{ column }})
{%- endmacro %}

{#- A share, NULL when there is nothing to divide by. -#}
{% macro voiso_ratio(numerator, denominator) -%}
  cast({{ numerator }} as {{ dbt_voiso.voiso_type_double() }})
    / nullif(cast({{ denominator }} as {{ dbt_voiso.voiso_type_double() }}), 0)
{%- endmacro %}
