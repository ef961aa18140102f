{#- Eight-byte floating point (DuckDB's FLOAT has four bytes, PostgreSQL's eight). -#}
{% macro voiso_type_double() -%}
  {{ return(adapter.dispatch('voiso_type_double', 'dbt_voiso')()) }}
{%- endmacro %}

{% macro default__voiso_type_double() -%}double precision{%- endmacro %}

{% macro duckdb__voiso_type_double() -%}double{%- endmacro %}

{% macro bigquery__voiso_type_double() -%}float64{%- endmacro %}

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

{#- target-snowflake lands a list as a VARIANT array: any element among the values. -#}
{% macro snowflake__voiso_has_any(column, values) -%}
  exists (select 1 from table(flatten(input => {{ column }})) as tag where cast(tag.value as varchar) in (
    {%- for value in values -%}'{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}{%- endfor -%}
  ))
{%- endmacro %}

{#- target-bigquery lands a list as JSON. -#}
{% macro bigquery__voiso_has_any(column, values) -%}
  exists (select 1 from unnest(json_value_array({{ column }})) as tag where tag in (
    {%- for value in values -%}'{{ value | replace("'", "''") }}'{{ ", " if not loop.last }}{%- endfor -%}
  ))
{%- endmacro %}

{#- target-redshift lands a list as SUPER: an element is its JSON string, quoted. -#}
{% macro redshift__voiso_has_any(column, values) -%}
  coalesce((
    {%- for value in values -%}
    strpos(json_serialize({{ column }}), '{{ value | tojson | replace("'", "''") }}') > 0{{ " or " if not loop.last }}
    {%- endfor -%}
  ), false)
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
