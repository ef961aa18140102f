{#- A post-hook for a seeded landed table: target-postgres writes a list as a
    PostgreSQL array (strings as text[], objects as jsonb[]), which a CSV cannot hold,
    so the seed holds JSON text and this turns each listed column into the array type
    ({name: 'text[]' or 'jsonb[]'}). target-duckdb (and the other targets) keep JSON:
    nothing to do. -#}
{% macro land_arrays(columns) -%}
  {{ return(adapter.dispatch('land_arrays', 'dbt_voiso_integration_tests')(columns)) }}
{%- endmacro %}

{% macro default__land_arrays(columns) -%}{%- endmacro %}

{% macro postgres__land_arrays(columns) -%}
  {%- for name, type in columns.items() %}
    {%- set elements = 'jsonb_array_elements_text' if type == 'text[]' else 'jsonb_array_elements' %}
    alter table {{ this }} rename column {{ name }} to {{ name }}__json;
    alter table {{ this }} add column {{ name }} {{ type }};
    update {{ this }} set {{ name }} = case
        when {{ name }}__json is not null
        then array(select {{ elements }}(cast({{ name }}__json as jsonb))) end;
    alter table {{ this }} drop column {{ name }}__json;
  {%- endfor %}
{%- endmacro %}
