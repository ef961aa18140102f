{#- The `fraction` percentile of `expression` over a group, interpolated between the two
    nearest values (PostgreSQL's, DuckDB's, Snowflake's and Redshift's percentile_cont):
    one macro per dialect, since not every warehouse writes it as an ordered-set
    aggregate. NULL over a group without a value. -#}
{% macro voiso_percentile(expression, fraction) -%}
  {{ return(adapter.dispatch('voiso_percentile', 'dbt_voiso')(expression, fraction)) }}
{%- endmacro %}

{% macro default__voiso_percentile(expression, fraction) -%}
  percentile_cont({{ fraction }}) within group (order by cast({{ expression }} as {{ dbt_voiso.voiso_type_double() }}))
{%- endmacro %}

{#- Spark's `percentile` is exact and interpolates as percentile_cont does. -#}
{% macro spark__voiso_percentile(expression, fraction) -%}
  percentile(cast({{ expression }} as double), {{ fraction }})
{%- endmacro %}

{#- BigQuery's exact percentile_cont is a window function only (and approx_quantiles is
    approximate): the sorted values' array, read at rank fraction * (n - 1) and
    interpolated between its two neighbours, as percentile_cont does. -#}
{% macro bigquery__voiso_percentile(expression, fraction) -%}
  {%- set value = 'cast(' ~ expression ~ ' as float64)' -%}
  {%- set sorted = 'array_agg(' ~ value ~ ' ignore nulls order by ' ~ value ~ ')' -%}
  {%- set rank = '(' ~ fraction ~ ' * (count(' ~ expression ~ ') - 1))' -%}
  {%- set below = 'cast(floor(' ~ rank ~ ') as int64)' -%}
  {%- set above = 'cast(ceil(' ~ rank ~ ') as int64)' -%}
  ({{ sorted }}[safe_offset({{ below }})]
    + ({{ rank }} - floor({{ rank }}))
    * ({{ sorted }}[safe_offset({{ above }})] - {{ sorted }}[safe_offset({{ below }})]))
{%- endmacro %}
