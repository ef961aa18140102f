{#- Eight-byte floating point (DuckDB's FLOAT has four bytes, PostgreSQL's eight). -#}
{% macro voiso_type_double() -%}
  {{ return(adapter.dispatch('voiso_type_double', 'dbt_voiso')()) }}
{%- endmacro %}

{% macro default__voiso_type_double() -%}double precision{%- endmacro %}

{% macro duckdb__voiso_type_double() -%}double{%- endmacro %}

{% macro spark__voiso_type_double() -%}double{%- endmacro %}

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

{#- Whether a list column of strings (tags) holds any of the values. target-duckdb lands
    a list as JSON, target-postgres as text[]. -#}
{% macro voiso_has_any(column, values) -%}
  {%- if values | length == 0 -%}
    (1 = 0)
  {%- else -%}
    {{ return(adapter.dispatch('voiso_has_any', 'dbt_voiso')(column, values)) }}
  {%- endif -%}
{%- endmacro %}

{% macro duckdb__voiso_has_any(column, values) -%}
  coalesce(list_has_any(cast({{ column }} as varchar[]), [
    {%- for value in values -%}'{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}{%- endfor -%}
  ]), false)
{%- endmacro %}

{#- Spark's JSON reader loads a list as array<string>. -#}
{% macro spark__voiso_has_any(column, values) -%}
  coalesce(arrays_overlap({{ column }}, array(
    {%- for value in values -%}'{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}{%- endfor -%}
  )), false)
{%- endmacro %}

{% macro default__voiso_has_any(column, values) -%}
  coalesce(cast({{ column }} as text[]) && array[
    {%- for value in values -%}'{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}{%- endfor -%}
  ]::text[], false)
{%- endmacro %}
