{#- The `fraction` percentile of `expression` over a group, interpolated between the two
    nearest values (as PostgreSQL's, DuckDB's and Snowflake's percentile_cont): one
    macro per dialect, since not every warehouse writes it as an ordered-set aggregate. -#}
{% macro voiso_percentile(expression, fraction) -%}
  {{ return(adapter.dispatch('voiso_percentile', 'dbt_voiso')(expression, fraction)) }}
{%- endmacro %}

{% macro default__voiso_percentile(expression, fraction) -%}
  percentile_cont({{ fraction }}) within group (order by cast({{ expression }} as {{ dbt_voiso.voiso_type_double() }}))
{%- endmacro %}
