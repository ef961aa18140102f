{#- The directory tables tap-voiso lands beside `cdrs` (users, campaigns), read so that
    every model builds whether they are loaded, empty, or absent (a CDR-only API key,
    or a warehouse loaded before the directory streams existed).

    `voiso_directory_source(table, columns, key)`: one row per `key` (the latest
    version, as for CDRs), with each of `columns` ([name, type] pairs; types: string,
    bigint, double, boolean, timestamp, json) cast to its type. A column the table
    lacks reads NULL; a table that does not exist gives zero rows of the same columns. -#}
{% macro voiso_directory_source(table, columns, key) -%}
  {%- set relation = source('voiso', table) -%}
  {%- set found = none -%}
  {%- set present = [] -%}
  {%- if execute -%}
    {%- set found = adapter.get_relation(
        database=relation.database, schema=relation.schema, identifier=relation.identifier) -%}
    {%- if found is not none -%}
      {%- for column in adapter.get_columns_in_relation(found) -%}
        {%- do present.append(column.name | lower) -%}
      {%- endfor -%}
    {%- endif -%}
  {%- endif -%}
  {%- if found is none %}
    select
    {%- for name, type in columns %}
        cast(null as {{ dbt_voiso.voiso_directory_type(type) }}) as {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
    where 1 = 0
  {%- else -%}
    {%- set newest_first = [] -%}
    {%- for column in ['_sdc_batched_at', '_sdc_extracted_at', '_sdc_sequence'] if column in present -%}
      {%- do newest_first.append(dbt_voiso.voiso_source_column(column) ~ ' desc nulls last') -%}
    {%- endfor -%}
    {%- do newest_first.append('1') %}
    select
    {%- for name, type in columns %}
        {{ name }}{{ ',' if not loop.last }}
    {%- endfor %}
    from (
        select
        {%- for name, type in columns %}
            {% if name in present -%}
              {{ dbt_voiso.voiso_directory_cast(dbt_voiso.voiso_source_column(name), type) }}
            {%- else -%}
              cast(null as {{ dbt_voiso.voiso_directory_type(type) }})
            {%- endif %} as {{ name }},
        {%- endfor %}
            row_number() over (
                partition by {{ dbt_voiso.voiso_source_column(key) }}
                order by {{ newest_first | join(', ') }}
            ) as version_rank
        from {{ found }}
    ) as versions
    where version_rank = 1
  {%- endif -%}
{%- endmacro %}

{#- The SQL type of a directory column's type name. -#}
{% macro voiso_directory_type(type) -%}
  {%- if type == 'string' -%}{{ dbt.type_string() }}
  {%- elif type == 'bigint' -%}{{ dbt.type_bigint() }}
  {%- elif type == 'double' -%}{{ dbt_voiso.voiso_type_double() }}
  {%- elif type == 'boolean' -%}{{ dbt.type_boolean() }}
  {%- elif type == 'timestamp' -%}{{ dbt.type_timestamp() }}
  {%- elif type == 'json' -%}{{ dbt_voiso.voiso_type_json() }}
  {%- else -%}{{ exceptions.raise_compiler_error("dbt_voiso: no directory type " ~ type) }}
  {%- endif -%}
{%- endmacro %}

{#- A landed column as its directory type. JSON: target-duckdb lands objects and arrays
    as `JSON`; target-postgres objects as `jsonb`, arrays as `jsonb[]`: all read as one
    JSON value. -#}
{% macro voiso_directory_cast(column, type) -%}
  {%- if type == 'json' -%}
    {{ dbt_voiso.voiso_to_json(column) }}
  {%- else -%}
    cast({{ column }} as {{ dbt_voiso.voiso_directory_type(type) }})
  {%- endif -%}
{%- endmacro %}

{#- The warehouse's JSON type. -#}
{% macro voiso_type_json() -%}
  {{ return(adapter.dispatch('voiso_type_json', 'dbt_voiso')()) }}
{%- endmacro %}

{% macro default__voiso_type_json() -%}jsonb{%- endmacro %}

{% macro duckdb__voiso_type_json() -%}json{%- endmacro %}

{% macro snowflake__voiso_type_json() -%}variant{%- endmacro %}

{% macro bigquery__voiso_type_json() -%}json{%- endmacro %}

{% macro redshift__voiso_type_json() -%}super{%- endmacro %}

{#- Spark has no JSON type: JSON text. -#}
{% macro spark__voiso_type_json() -%}string{%- endmacro %}

{#- A JSON, jsonb or jsonb[] column as one JSON value (an array stays an array). -#}
{% macro voiso_to_json(column) -%}
  {{ return(adapter.dispatch('voiso_to_json', 'dbt_voiso')(column)) }}
{%- endmacro %}

{% macro default__voiso_to_json(column) -%}to_jsonb({{ column }}){%- endmacro %}

{% macro duckdb__voiso_to_json(column) -%}cast({{ column }} as json){%- endmacro %}

{#- target-snowflake, target-bigquery and target-redshift land objects and arrays alike
    as one JSON type (VARIANT, JSON, SUPER). -#}
{% macro snowflake__voiso_to_json(column) -%}{{ column }}{%- endmacro %}

{% macro bigquery__voiso_to_json(column) -%}{{ column }}{%- endmacro %}

{% macro redshift__voiso_to_json(column) -%}{{ column }}{%- endmacro %}

{#- Spark: a struct or an array (of structs) as its JSON text. -#}
{% macro spark__voiso_to_json(column) -%}to_json({{ column }}){%- endmacro %}

{#- The elements of a JSON array column, one row each (a set-returning expression for a
    select list): no rows when the value is NULL or not an array. -#}
{% macro voiso_json_array_elements(column) -%}
  {{ return(adapter.dispatch('voiso_json_array_elements', 'dbt_voiso')(column)) }}
{%- endmacro %}

{% macro default__voiso_json_array_elements(column) -%}
  jsonb_array_elements(case when jsonb_typeof({{ column }}) = 'array' then {{ column }} else '[]'::jsonb end)
{%- endmacro %}

{% macro duckdb__voiso_json_array_elements(column) -%}
  unnest(case when json_type({{ column }}) = 'ARRAY' then cast({{ column }} as json[]) end)
{%- endmacro %}

{#- `select <columns>, <element> as <alias> from <relation>`: a row per element of the
    JSON array `column` of each row (none when NULL or not an array). Where a
    set-returning expression may stand in a select list, through
    voiso_json_array_elements; elsewhere a lateral join. -#}
{% macro voiso_json_array_rows(columns, column, alias, relation) -%}
  {{ return(adapter.dispatch('voiso_json_array_rows', 'dbt_voiso')(columns, column, alias, relation)) }}
{%- endmacro %}

{% macro default__voiso_json_array_rows(columns, column, alias, relation) -%}
    select {{ columns }}, {{ dbt_voiso.voiso_json_array_elements(column) }} as {{ alias }}
    from {{ relation }}
{%- endmacro %}

{% macro snowflake__voiso_json_array_rows(columns, column, alias, relation) -%}
    select {{ columns }}, elements.value as {{ alias }}
    from {{ relation }},
        lateral flatten(input => case when is_array({{ column }}) then {{ column }} end) as elements
{%- endmacro %}

{% macro bigquery__voiso_json_array_rows(columns, column, alias, relation) -%}
    select {{ columns }}, element as {{ alias }}
    from {{ relation }}
    cross join unnest(json_query_array({{ column }})) as element
{%- endmacro %}

{#- Redshift unnests a SUPER array in FROM (PartiQL). -#}
{% macro redshift__voiso_json_array_rows(columns, column, alias, relation) -%}
    select {{ columns }}, element as {{ alias }}
    from {{ relation }} as source, source.{{ column }} as element
{%- endmacro %}

{#- Spark: the JSON text of each element (`array<string>` keeps an object as its text);
    from_json gives NULL, so no rows, for anything but an array. -#}
{% macro spark__voiso_json_array_elements(column) -%}
  explode(from_json({{ column }}, 'array<string>'))
{%- endmacro %}
