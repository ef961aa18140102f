{#- CTE syntax that differs between warehouses. -#}

{#- `with recursive`, where a CTE of the query recurses (Erlang C's on DuckDB and
    PostgreSQL); plain `with` on Spark, where none does (see spark__voiso_erlang_c_ctes). -#}
{% macro voiso_with_recursive() -%}
  {{ return(adapter.dispatch('voiso_with_recursive', 'dbt_voiso')()) }}
{%- endmacro %}

{% macro default__voiso_with_recursive() -%}with recursive{%- endmacro %}

{% macro spark__voiso_with_recursive() -%}with{%- endmacro %}

{#- `materialized` before a CTE read several times: computed once (DuckDB, PostgreSQL 12+).
    Spark has no such keyword (it plans each reference). -#}
{% macro voiso_materialized() -%}
  {{ return(adapter.dispatch('voiso_materialized', 'dbt_voiso')()) }}
{%- endmacro %}

{% macro default__voiso_materialized() -%}materialized{%- endmacro %}

{% macro spark__voiso_materialized() -%}{%- endmacro %}
