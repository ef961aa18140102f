{#- One row per non-NULL `key` of `relation`: `columns` of its latest row (by
    `started_at`, then the largest `id`), and `key_rows`, how many rows the key has.
    Found with aggregates and joins rather than a window over every row, which at a
    million CDRs took most of an incremental build. -#}
{% macro voiso_latest_per(relation, key, id, columns) -%}
    select
        picked.{{ key }},
        {%- for column in columns %}
        picked.{{ column }},
        {%- endfor %}
        totals.key_rows
    from {{ relation }} as picked
    inner join (
        select candidates.{{ key }}, max(candidates.{{ id }}) as latest_id
        from {{ relation }} as candidates
        inner join (
            select {{ key }}, max(started_at) as last_started_at
            from {{ relation }}
            where {{ key }} is not null
            group by {{ key }}
        ) as last_starts
            on last_starts.{{ key }} = candidates.{{ key }}
            and last_starts.last_started_at = candidates.started_at
        group by candidates.{{ key }}
    ) as latest
        on latest.latest_id = picked.{{ id }}
    inner join (
        select {{ key }}, count(*) as key_rows
        from {{ relation }}
        where {{ key }} is not null
        group by {{ key }}
    ) as totals
        on totals.{{ key }} = picked.{{ key }}
{%- endmacro %}
