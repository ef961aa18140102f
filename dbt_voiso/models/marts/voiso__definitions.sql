{#- One row: the definition vars the models were built with, for what reads the models
    (the dashboard's titles, its target line and short-abandon mark) to say what they
    hold without being told the vars again. -#}
select
    cast('{{ var("voiso_timezone", "UTC") }}' as {{ dbt.type_string() }}) as timezone,
    {{ var('voiso_interval_minutes', 15) | int }} as interval_minutes,
    cast({{ var('voiso_service_level_seconds', 20) }} as {{ dbt_voiso.voiso_type_double() }}) as service_level_seconds,
    cast({{ var('voiso_service_level_target', 0.80) }} as {{ dbt_voiso.voiso_type_double() }}) as service_level_target,
    cast({{ var('voiso_short_abandon_seconds', 5) }} as {{ dbt_voiso.voiso_type_double() }}) as short_abandon_seconds,
    {{ dbt_voiso.voiso_built_at() }} as dbt_built_at
