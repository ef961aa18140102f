{#- Spark (Databricks, a lakehouse): the source tables over the files target-jsonl writes
    (`<stream>.jsonl`, or `<stream>-<time>.jsonl` with its `do_timestamp_file`), read by
    Spark's JSON reader: objects as structs, lists as arrays, timestamps as ISO text.
    `dbt run-operation voiso_spark_create_sources --args '{path: output}'` (Meltano:
    `meltano invoke dbt-spark:create-sources`), again whenever a load may have brought a
    field not seen before (`cdrs`' columns are inferred from the files when the table is
    created). Each table is dropped and created: it holds no data, only where the files
    are; their `_sdc_*`-less rows are versions, the latest of which the models take.
    `path`: the folder (default: env DBT_SPARK_JSONL_PATH, else `output`). `streams`:
    the streams landed; Spark refuses a table over files that do not exist, so a key
    without the directory scopes passes `{streams: [cdrs]}` (the models then read the
    directory as empty). `users` and `campaigns` have the columns the package reads
    declared (a team id, an integer or a string, as text). -#}
{% macro voiso_spark_create_sources(path=none, streams=['cdrs', 'users', 'campaigns']) -%}
  {%- set folder = (path or env_var('DBT_SPARK_JSONL_PATH', 'output')) | string -%}
  {%- set schema = var('voiso_source_schema', 'voiso') -%}
  {%- set tables = [
      [var('voiso_source_table', 'cdrs'), 'cdrs', none],
      [var('voiso_users_table', 'users'), 'users',
       'id string, name string, email string, sip_account string, extension string,'
       ~ ' caller_id string, employee_id string, timezone string,'
       ~ ' security_access_group struct<id: string, name: string>,'
       ~ ' teams array<struct<id: string, name: string>>,'
       ~ ' supervised_teams array<struct<id: string, name: string>>'],
      [var('voiso_campaigns_table', 'campaigns'), 'campaigns',
       'id bigint, name string, status string, strategy string, dial_level double,'
       ~ ' created_at string, updated_at string'],
  ] -%}
  {%- do run_query('create schema if not exists ' ~ schema) -%}
  {%- for table, stream, columns in tables -%}
    {%- set files = folder.rstrip('/') ~ '/' ~ stream ~ '*.jsonl' -%}
    {%- do run_query('drop table if exists ' ~ schema ~ '.' ~ table) -%}
    {%- if stream in streams -%}
      {%- do run_query('create table ' ~ schema ~ '.' ~ table
          ~ (' (' ~ columns ~ ')' if columns else '')
          ~ " using json options (path '" ~ files | replace("'", "\\'") ~ "')") -%}
      {%- do log('dbt_voiso: ' ~ schema ~ '.' ~ table ~ ' reads ' ~ files, info=true) -%}
    {%- endif -%}
  {%- endfor -%}
{%- endmacro %}
