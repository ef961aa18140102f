{#- A timestamp the targets land in UTC (without time zone), as wall-clock time in
    `voiso_timezone`: what the contact center calls that moment. -#}
{% macro voiso_local_timestamp(column) -%}
  {{ return(adapter.dispatch('voiso_local_timestamp', 'dbt_voiso')(column, var('voiso_timezone', 'UTC'))) }}
{%- endmacro %}

{% macro duckdb__voiso_local_timestamp(column, tz) -%}
  timezone('{{ tz }}', timezone('UTC', {{ column }}))
{%- endmacro %}

{% macro postgres__voiso_local_timestamp(column, tz) -%}
  (({{ column }}) at time zone 'UTC') at time zone '{{ tz }}'
{%- endmacro %}

{#- TIMESTAMP_NTZ in UTC (target-snowflake) to the zone's wall clock, without a zone. -#}
{% macro snowflake__voiso_local_timestamp(column, tz) -%}
  convert_timezone('UTC', '{{ tz }}', {{ column }})
{%- endmacro %}

{% macro redshift__voiso_local_timestamp(column, tz) -%}
  {{ dbt_voiso.snowflake__voiso_local_timestamp(column, tz) }}
{%- endmacro %}

{#- A TIMESTAMP (a moment, target-bigquery) as the zone's DATETIME. -#}
{% macro bigquery__voiso_local_timestamp(column, tz) -%}
  datetime({{ column }}, '{{ tz }}')
{%- endmacro %}

{#- Spark's TIMESTAMP is an instant shown in the session time zone (UTC in the profile):
    from_utc_timestamp shifts it to the zone's wall-clock. -#}
{% macro spark__voiso_local_timestamp(column, tz) -%}
  from_utc_timestamp({{ column }}, '{{ tz }}')
{%- endmacro %}

{% macro default__voiso_local_timestamp(column, tz) -%}
  {{ exceptions.raise_compiler_error(
      "dbt_voiso converts time zones on duckdb, postgres, snowflake, spark, bigquery and redshift only, not on "
      ~ target.type) }}
{%- endmacro %}

{#- The start of the `voiso_interval_minutes` interval holding a local (wall-clock)
    timestamp, in wall-clock time. -#}
{% macro voiso_interval_start_local(local_column) -%}
  {%- set minutes = var('voiso_interval_minutes', 15) | int -%}
  {%- if minutes not in [15, 30, 60] -%}
    {{ exceptions.raise_compiler_error("voiso_interval_minutes must be 15, 30 or 60, not " ~ minutes) }}
  {%- endif -%}
  {#- Parenthesised: dbt.dateadd is a bare `a + b` on postgres. -#}
  ({{ dbt.dateadd('minute', 'cast(floor(extract(minute from ' ~ local_column ~ ') / ' ~ minutes ~ ') * ' ~ minutes ~ ' as integer)', dbt.date_trunc('hour', local_column)) }})
{%- endmacro %}

{#- The same interval's start in UTC: the UTC moment less the wall-clock time since the
    interval began. Right across a daylight-saving change (which falls on an interval
    boundary): the two 01:00 quarter hours of a night the clocks go back get two starts. -#}
{% macro voiso_interval_start_utc(utc_column, local_column) -%}
  {{ return(adapter.dispatch('voiso_interval_start_utc', 'dbt_voiso')(utc_column, local_column)) }}
{%- endmacro %}

{% macro default__voiso_interval_start_utc(utc_column, local_column) -%}
  ({{ utc_column }} - ({{ local_column }} - {{ dbt_voiso.voiso_interval_start_local(local_column) }}))
{%- endmacro %}

{#- Snowflake subtracts no timestamps: the wall-clock time since the interval began as
    microseconds. -#}
{% macro snowflake__voiso_interval_start_utc(utc_column, local_column) -%}
  dateadd(microsecond, -datediff(microsecond, {{ dbt_voiso.voiso_interval_start_local(local_column) }}, {{ local_column }}), {{ utc_column }})
{%- endmacro %}

{% macro redshift__voiso_interval_start_utc(utc_column, local_column) -%}
  {{ dbt_voiso.snowflake__voiso_interval_start_utc(utc_column, local_column) }}
{%- endmacro %}

{% macro bigquery__voiso_interval_start_utc(utc_column, local_column) -%}
  timestamp_sub({{ utc_column }}, interval datetime_diff({{ local_column }}, {{ dbt_voiso.voiso_interval_start_local(local_column) }}, microsecond) microsecond)
{%- endmacro %}

{#- `timestamp` plus `interval` of `datepart` (hour, minute): dbt.dateadd, but on Spark,
    whose dbt.dateadd goes through whole Unix seconds and drops the CDRs' milliseconds,
    timestampadd. -#}
{% macro voiso_dateadd(datepart, interval, timestamp) -%}
  {{ return(adapter.dispatch('voiso_dateadd', 'dbt_voiso')(datepart, interval, timestamp)) }}
{%- endmacro %}

{% macro default__voiso_dateadd(datepart, interval, timestamp) -%}
  {{ dbt.dateadd(datepart, interval, timestamp) }}
{%- endmacro %}

{% macro spark__voiso_dateadd(datepart, interval, timestamp) -%}
  timestampadd({{ datepart }}, {{ interval }}, {{ timestamp }})
{%- endmacro %}
