{#- CTE syntax that differs between warehouses. -#}

{#- `with recursive`, where a CTE of the query recurses (Erlang C's on DuckDB and
    PostgreSQL); plain `with` on Spark, where none does (see spark__voiso_erlang_c_ctes). -#}
{% macro voiso_with_recursive() -%}
  {{ return(adapter.dispatch('voiso_with_recursive', 'dbt_voiso')()) }}
{%- endmacro %}

{% macro default__voiso_with_recursive() -%}with recursive{%- endmacro %}

{% macro spark__voiso_with_recursive() -%}with{%- endmacro %}

{#- `materialized` after a CTE's `as` where the warehouse takes it (DuckDB, PostgreSQL
    12+: computed once however often it is read); nothing elsewhere (Snowflake, Spark,
    BigQuery plan each reference). -#}
{% macro voiso_materialized() -%}
  {{ return(adapter.dispatch('voiso_materialized', 'dbt_voiso')()) }}
{%- endmacro %}

{% macro default__voiso_materialized() -%}{%- endmacro %}

{% macro duckdb__voiso_materialized() -%}materialized{%- endmacro %}

{% macro postgres__voiso_materialized() -%}materialized{%- endmacro %}

{#- Redshift, which dbt dispatches to postgres__ macros after its own, takes none. -#}
{% macro redshift__voiso_materialized() -%}{%- endmacro %}

{#- A recursive CTE's column list, `(a, b)`: BigQuery takes none (the anchor's aliases
    name the columns). -#}
{% macro voiso_cte_columns(names) -%}
  {{ return(adapter.dispatch('voiso_cte_columns', 'dbt_voiso')(names)) }}
{%- endmacro %}

{% macro default__voiso_cte_columns(names) -%}({{ names | join(', ') }}){%- endmacro %}

{% macro bigquery__voiso_cte_columns(names) -%}{%- endmacro %}
